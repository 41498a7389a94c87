"""``cn.govkiosk.Power1``: the UPS reading, the shutdown stage, and the UPS self-test.

The UI shows its on-battery banner, refuses new sessions and shows out-of-service by
the ``Stage`` property (§6.1); ``govkioskctl`` and ops read ``GetState``.
"""

import asyncio
import functools
import uuid
from typing import Callable, Dict, Optional

from dbus_next import Variant
from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, method, signal

from ..bus import AdminAction, EventBus, EventStream
from ..contract.names import POWER_INTERFACE
from ..dbus import guarded
from ..devices.ups.errors import UpsError, UpsSelfTestUnsupportedError
from ..devices.ups.selftest import UpsSelfTestDone, UpsSelfTestRun
from ..devices.ups.settings import UpsSettings
from ..devices.ups.state import UpsSelfTestRequested, UpsStateChanged, Value
from ..power.logind import power_off
from ..power.policy import Stage
from ..power.service import ShutdownService, ShutdownStageChanged
from ..runtime import Runtime
from ..timeouts import wait_for


def _variant(value: Value) -> Variant:
    if isinstance(value, bool):
        return Variant("b", value)
    if isinstance(value, float):
        return Variant("d", value)
    if isinstance(value, tuple):
        return Variant("as", list(value))
    return Variant("s", value)


class PowerInterface(ServiceInterface):
    def __init__(
        self,
        bus: EventBus,
        stage: Callable[[], Stage],
        settings: Callable[[], UpsSettings] = UpsSettings,
    ) -> None:
        super().__init__(POWER_INTERFACE)
        self._bus = bus
        self._stage = stage
        self._settings = settings
        self._testing = asyncio.Lock()
        self._ups: Optional[UpsStateChanged] = None
        self._unsubscribers = [
            bus.subscribe(UpsStateChanged, self._on_ups),
            bus.subscribe(ShutdownStageChanged, self._on_stage),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()

    def _state(self) -> Dict[str, Variant]:
        if self._ups is None:
            return {}
        values = {k: _variant(v) for k, v in self._ups.state.as_dict().items()}
        values["device_id"] = Variant("s", self._ups.device_id)
        values["can_self_test"] = Variant("b", self._ups.can_self_test)
        return values

    def _on_ups(self, event: UpsStateChanged) -> None:
        self._ups = event
        self.StateChanged(self._state())

    def _on_stage(self, event: ShutdownStageChanged) -> None:
        stage = Stage(event.stage)
        self.emit_properties_changed(
            {
                "Stage": stage.value,
                "AcceptingSessions": stage.accepting_sessions,
                "InService": stage.in_service,
            }
        )
        self.StageChanged(event.stage, event.reason)

    @dbus_property(access=PropertyAccess.READ)
    def Stage(self) -> "s":
        return self._stage().value

    @dbus_property(access=PropertyAccess.READ)
    def AcceptingSessions(self) -> "b":
        """Whether a citizen may start a session now (the UI's 开始办理)."""
        return self._stage().accepting_sessions

    @dbus_property(access=PropertyAccess.READ)
    def InService(self) -> "b":
        """``False`` once the kiosk is out of service: the screen says so."""
        return self._stage().in_service

    @method()
    @guarded
    def GetState(self) -> "a{sv}":
        """The latest UPS reading; empty until a UPS driver has read one."""
        return self._state()

    @method()
    @guarded
    def SelfTest(self) -> None:
        """Ask the UPS to test its battery (about 10 s); the reading shows it running."""
        if self._ups is None:
            raise UpsSelfTestUnsupportedError("no UPS has been read yet")
        if not self._ups.can_self_test:
            raise UpsSelfTestUnsupportedError(
                f"{self._ups.device_id}: this UPS connection cannot run a self-test"
            )
        self._bus.publish(UpsSelfTestRequested(self._ups.device_id))
        self._bus.publish(
            AdminAction("maintenance", "ups_self_test", {"device": self._ups.device_id})
        )

    @method()
    @guarded
    async def RunSelfTest(self) -> "(sss)":
        """Run the battery self-test and wait for it: (device, outcome, what the UPS said).

        NUT: ``test.battery.start.quick`` then ``ups.test.result``; Megatec: ``T`` then the
        Q1 bits. ``outcome`` is ``passed``, ``failed``, ``unknown`` (the UPS never said) or
        ``error`` (the test could not run: not supported, no permission, no answer)."""
        ups = self._ups
        if ups is None:
            raise UpsSelfTestUnsupportedError("no UPS has been read yet")
        if not ups.can_self_test:
            raise UpsSelfTestUnsupportedError(
                f"{ups.device_id}: this UPS connection cannot run a self-test"
                " (NUT: set [ups] user and password_file for an account with instcmds)"
            )
        settings = self._settings()
        # The driver always answers; the limit guards a driver that vanished meanwhile.
        limit = settings.self_test_timeout + 4 * settings.timeout + settings.self_test_poll
        run_id = uuid.uuid4().hex[:12]
        async with self._testing:
            with self._bus.stream(UpsSelfTestDone) as done:
                self._bus.publish(UpsSelfTestRun(ups.device_id, run_id))
                try:
                    result = await wait_for(_done(done, run_id), limit)
                except asyncio.TimeoutError:
                    raise UpsError(
                        f"{ups.device_id}: no self-test outcome within {limit:g} s"
                    ) from None
        self._bus.publish(
            AdminAction(
                "maintenance",
                "ups_self_test",
                {"device": ups.device_id, "outcome": result.outcome},
            )
        )
        return [ups.device_id, result.outcome, result.text]

    @signal()
    def StateChanged(self, state: Dict[str, Variant]) -> "a{sv}":
        return state

    @signal()
    def StageChanged(self, stage: str, reason: str) -> "ss":
        return [stage, reason]


async def _done(stream: "EventStream[UpsSelfTestDone]", run_id: str) -> UpsSelfTestDone:
    while True:
        event = await stream.get()
        if event.run_id == run_id:
            return event


def install(runtime: Runtime) -> None:
    settings = runtime.config.ups
    service = ShutdownService(
        runtime.bus,
        runtime.activity,
        settings,
        functools.partial(power_off, settings.logind_bus),
    )
    runtime.supervisor.add(service)
    runtime.dbus.export(
        PowerInterface(runtime.bus, lambda: service.stage, lambda: runtime.config.ups)
    )
