"""USB port sealing (§8 c): default deny, a port map of roles, per-interface authorisation.

``rules`` parses the port map, ``identity`` reads what a device says about itself,
``policy`` decides, ``sysfs`` enforces, ``sealer`` ties them to hotplug events, and
``audit`` / ``maintenance`` keep their records in SQLite. See docs/usb-sealing.md.
"""
