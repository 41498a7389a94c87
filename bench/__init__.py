"""Benchmarks: ``python -m bench [name …]`` runs them and prints their figures as JSON.

Each ``bench/bench_<name>.py`` defines ``run() -> dict`` returning its figures (and the
target it is measured against). Benchmarks are never timed tests: they report, they do
not assert.
"""
