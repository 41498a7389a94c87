"""QR/barcode scanner (§6.2 二维码识读): health codes, e-licence codes, appointment slips.

Two kinds: serial scanners that send one terminated line per code (:mod:`.text`), and
USB scanners that pretend to be a keyboard, read through evdev (:mod:`.keyboard`,
:mod:`.keymaps`). A scanned code may be personal data, so it travels only as the
session-only :class:`~.events.CodeScanned` and is never logged.
"""
