"""Joining the daemon: the ``ops`` service, when ``[ops] host`` is set."""

from __future__ import annotations

import logging

from ..runtime import Runtime
from .oplog import OpsLog
from .service import OpsService
from .view import KioskView

_LOGGER = logging.getLogger(__name__)


def install(runtime: Runtime) -> None:
    if not runtime.config.ops.enabled:
        _LOGGER.info("ops: no [ops] host configured: remote operations are off")
        return
    runtime.supervisor.add(OpsService(runtime, KioskView(runtime), OpsLog(runtime.store)))
