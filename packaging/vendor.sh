#!/bin/sh
# Vendored pure-Python libraries (packaging/vendor.txt) — never committed, built on demand.
#
#   packaging/vendor.sh lock            rewrite vendor.txt from depends.txt + constraints.txt
#   packaging/vendor.sh fill TARGET     verify the locked wheels' hashes and install them into
#                                       TARGET (becomes /usr/lib/govkiosk/vendor)
#
# Wheels are cached in build/wheels; `fill` reaches the package index only for wheels not yet
# there, and pip checks every wheel against the hash in the lock (--require-hashes).
set -eu
export PIP_ROOT_USER_ACTION=ignore
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
python=${PYTHON:-/usr/bin/python3}
wheels=${WHEEL_DIR:-$root/build/wheels}
mkdir -p "$wheels"

case "${1:-}" in
lock)
    exec "$python" "$here/depends.py" lock "$wheels"
    ;;
fill)
    target=${2:?usage: vendor.sh fill TARGET}
    # Pure wheels for the oldest target Python (3.8): the same tree serves every
    # architecture (amd64, arm64, loongarch64) and every target's Python.
    "$python" -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
        --platform any --implementation py --abi none --python-version 3.8 \
        --dest "$wheels" -r "$here/vendor.txt"
    rm -rf "$target"
    "$python" -m pip install --quiet --no-deps --require-hashes --no-index \
        --find-links "$wheels" --no-compile --target "$target" -r "$here/vendor.txt"
    # Console scripts of vendored libraries are not part of govkiosk.
    rm -rf "$target/bin"
    ;;
*)
    sed -n '2,9p' "$0" >&2
    exit 2
    ;;
esac
