"""The receipt (slip) printer family (§6.3, §7.2 b): ESC/POS over serial, USB or TCP 9100.

``escpos`` encodes receipts, ``status`` reads the printer's status bytes, ``driver``
prints jobs and confirms each one, ``sim`` is a printer on a pty or TCP port.
This package's ``__init__`` imports nothing: ``config`` imports its settings.
"""
