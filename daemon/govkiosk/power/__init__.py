"""Power (§6.1): the staged shutdown on UPS battery, and ``cn.govkiosk.Power1``.

The UPS drivers (``devices/ups``) only read the UPS; what the kiosk does about it
lives here, apart from any one driver, because it concerns the whole kiosk (sessions,
prints, the screen, the machine) and works the same whichever way the UPS is reached.
"""
