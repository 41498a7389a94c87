"""``config.set`` end to end: validate, apply atomically, reload, watch, roll back."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
from dataclasses import asdict
from typing import Any, Dict, Mapping, Optional, Set

from .bus import ServiceHealthChanged
from .confset import ConfigSetError, candidate, read_dropin, write
from .runtime import Runtime
from .supervisor import ServiceState
from .timeouts import wait_for

_LOGGER = logging.getLogger(__name__)


def config_hash(runtime: Runtime) -> str:
    """A digest of the configuration in force, for the shadow's ``reported``."""
    text = json.dumps(asdict(runtime.config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


async def apply(runtime: Runtime, values: Mapping[str, Any], settle: float) -> Dict[str, Any]:
    """Apply ``values`` or raise :class:`ConfigSetError` with everything back as it was."""
    path = runtime.config_path
    if path is None:
        raise ConfigSetError("the daemon runs without a configuration file")
    loop = asyncio.get_running_loop()
    before = await loop.run_in_executor(None, read_dropin, path)
    text = await loop.run_in_executor(None, candidate, path, values)
    failing = {h.name for h in runtime.supervisor.health() if h.state is ServiceState.FAILED}
    await loop.run_in_executor(None, write, path, text)
    with runtime.bus.stream(ServiceHealthChanged) as changes:
        if not runtime.reload():
            await _restore(runtime, before)
            raise ConfigSetError("the daemon did not take the new configuration")
        broken = await _first_failure(changes, failing, settle)
        broken = broken or _still_failing(runtime, failing)
    if broken:
        await _restore(runtime, before)
        raise ConfigSetError(f"rolled back: service {broken} failed with the new configuration")
    _LOGGER.info("ops: configuration changed: %s", ", ".join(sorted(values)))
    return {"applied": dict(values), "config_hash": config_hash(runtime)}


async def _first_failure(changes: Any, failing: Set[str], settle: float) -> Optional[str]:
    deadline = asyncio.get_running_loop().time() + settle
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return None
        try:
            event = await wait_for(changes.get(), left)
        except asyncio.TimeoutError:
            return None
        if event.state == ServiceState.FAILED.value and event.service not in failing:
            return str(event.service)


def _still_failing(runtime: Runtime, failing: Set[str]) -> Optional[str]:
    return next(
        (
            h.name
            for h in runtime.supervisor.health()
            if h.state is ServiceState.FAILED and h.name not in failing
        ),
        None,
    )


async def _restore(runtime: Runtime, before: Optional[bytes]) -> None:
    assert runtime.config_path is not None
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, functools.partial(write, runtime.config_path, before))
    runtime.reload()
