"""Real components for tests, started on loopback by the tests themselves."""
