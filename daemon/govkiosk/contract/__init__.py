"""What the daemon and the UI share, and all the UI may import from the daemon's package.

- :mod:`.names`: every bus name, object path, interface, signal and error name of the
  D-Bus API (``docs/session-api.md``), and the values both ends compare;
- :mod:`.connection`: connecting to a bus, closing it without leaking its socket, and
  the capped backoff every reconnecting client waits by;
- :mod:`.logs`: the log format both processes write and the guard that keeps personal
  data out of their logs (§8 d).

Nothing here imports the rest of :mod:`govkiosk`: the contract sits below everything.
"""
