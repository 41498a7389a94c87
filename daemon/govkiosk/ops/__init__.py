"""Remote operations over MQTT, the kiosk's side (§5.2 运维监控系统, §8): signed
commands, shadow, telemetry and alarms. ``host`` is what the daemon hands it.

Ops staff's side is ``govkiosk.fleet`` and ``govkioskctl fleet``. Topic layout and
envelope: ``docs/ops.md``.
"""
