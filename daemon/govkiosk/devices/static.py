"""Devices listed in ``[[devices.static]]``: in the registry, each under its role's driver."""

from __future__ import annotations

from ..runtime import Runtime
from .registry import STATIC, DeviceRecord, DeviceRegistry
from .spec import DeviceSpec


def install(runtime: Runtime, registry: DeviceRegistry) -> None:
    """Record every static device; their drivers start with the other services."""
    for entry in runtime.config.devices.static:
        spec = DeviceSpec(id=f"{entry.role}@{entry.port}", role=entry.role, port=entry.port)
        registry.put(DeviceRecord(spec.id, spec, STATIC, "static"), launch=False)
