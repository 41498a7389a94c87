"""Joining the daemon: ``cn.govkiosk.Ops1`` and the network watch always, the ``ops``
service when ``[ops] host`` is set."""

from __future__ import annotations

import logging

from ..dbus.ops import OpsInterface
from ..runtime import Runtime
from .link import LinkState
from .network import NetworkWatch
from .oplog import OpsLog
from .service import OpsService
from .view import KioskView

_LOGGER = logging.getLogger(__name__)


def install(runtime: Runtime) -> None:
    enabled = runtime.config.ops.enabled
    link = LinkState.CONNECTING if enabled else LinkState.DISABLED
    runtime.dbus.export(OpsInterface(runtime.bus, link.value))
    runtime.supervisor.add(NetworkWatch(runtime.bus))
    if not enabled:
        _LOGGER.info("ops: no [ops] host configured: remote operations are off")
        return
    runtime.supervisor.add(OpsService(runtime, KioskView(runtime), OpsLog(runtime.store)))
