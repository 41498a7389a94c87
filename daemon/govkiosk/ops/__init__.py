"""Remote operations over MQTT (§5.2 运维监控系统, §8): signed commands, shadow,
telemetry and alarms for the kiosk; ``govkioskctl fleet`` for ops staff.

Topic layout and envelope: ``docs/ops.md``.
"""
