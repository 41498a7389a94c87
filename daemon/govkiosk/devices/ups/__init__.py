"""The UPS family (§6.1): watch the UPS so the kiosk can shut down safely on battery.

A kiosk meets its UPS one of two ways, and the port says which (:mod:`.driver`):

- ``nut://[user:pass@]host[:port]/upsname`` — a NUT ``upsd`` (:mod:`.nut` protocol,
  :mod:`.nut_driver` client), for UPSes NUT already drives;
- anything else (``/dev/ttyS0``, a pty, ``socket://host:port``) — a Megatec/Q1 serial
  UPS (:mod:`.megatec` protocol, :mod:`.megatec_driver`, :mod:`.sim` simulator), the
  protocol of many low-cost UPSes sold in China.

Both publish :class:`.state.UpsStateChanged`; the staged shutdown
(:mod:`govkiosk.power`) decides what the kiosk does about it.
"""
