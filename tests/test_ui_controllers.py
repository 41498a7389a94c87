"""The UI's signal table, status indicators and power controller, without a display or a bus."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import pytest

from govkiosk.contract.names import KIOSK_INTERFACE, POWER_INTERFACE
from govkiosk_ui.client import PROPERTIES_INTERFACE
from govkiosk_ui.controllers.power import PowerController
from govkiosk_ui.signals import PROPERTIES_CHANGED, SignalTable
from govkiosk_ui.status import ALERT, OK, WARN, Indicator, devices_indicator, ups_indicator


def test_signals_go_to_their_route_and_properties_to_their_interface() -> None:
    seen: List[Tuple[str, List[Any]]] = []
    table = SignalTable(
        {(POWER_INTERFACE, "StageChanged"): lambda body: seen.append(("stage", body))},
        {(KIOSK_INTERFACE, PROPERTIES_CHANGED): lambda body: seen.append(("kiosk", body))},
    )
    table.dispatch(POWER_INTERFACE, "StageChanged", ["draining", "battery low"])
    table.dispatch(PROPERTIES_INTERFACE, PROPERTIES_CHANGED, [KIOSK_INTERFACE, {"Faults": 2}, []])
    table.dispatch(PROPERTIES_INTERFACE, PROPERTIES_CHANGED, [POWER_INTERFACE, {"Stage": "x"}, []])
    table.dispatch(POWER_INTERFACE, "StateChanged", [{}])  # nobody follows it
    assert seen == [("stage", ["draining", "battery low"]), ("kiosk", [{"Faults": 2}, []])]


def test_a_route_has_one_handler() -> None:
    route = (POWER_INTERFACE, "StageChanged")
    with pytest.raises(ValueError, match="two handlers"):
        SignalTable({route: lambda _body: None}, {route: lambda _body: None})


def test_devices_entry_is_the_daemons_fault_count() -> None:
    assert devices_indicator(False, 0).msgid == "service unavailable"
    assert devices_indicator(False, 0).level == ALERT
    assert devices_indicator(True, 0).level == OK
    assert devices_indicator(True, 2) == Indicator(WARN, "{count} faults", (("count", 2),))


def test_ups_entry_says_battery_low_once_no_session_is_taken() -> None:
    assert ups_indicator("draining", False, {"charge": 18.4}).msgid == "battery low"
    assert ups_indicator("draining", False, {"charge": 18.4}).params == (("charge", 18),)
    assert ups_indicator("on_battery", True, {}).level == WARN
    assert ups_indicator("normal", True, {"on_battery": False}).level == OK
    assert ups_indicator("normal", True, {}).msgid == "unknown"


class FakeFrame:
    def __init__(self) -> None:
        self.current = "home"
        self.entries: Dict[str, Indicator] = {}
        self.banner = ""
        self.ended = 0
        self.out_of_service: Any = type("Screen", (), {"reason": ""})()

    def screen(self, name: str) -> Any:
        assert name == "out_of_service"
        return self.out_of_service

    def show_screen(self, name: str, where: str = "") -> None:
        del where
        self.current = name

    def show_home(self) -> None:
        self.current = "home"

    def indicate(self, entry: str, indicator: Indicator) -> None:
        self.entries[entry] = indicator

    def set_banner(self, text: str) -> None:
        self.banner = text

    def in_session(self) -> bool:
        return False

    def end_session(self) -> None:
        self.ended += 1

    def daemon_available(self) -> bool:
        return True

    def rest(self) -> None:
        self.current = "attract"

    def wake(self) -> None:
        self.current = "home"


class FakeClient:
    """Answers ``GetAll`` on Power1 and ``GetState``; everything else is unreadable."""

    def __init__(self, properties: Dict[str, Any]) -> None:
        self.properties = properties

    async def read_properties(self, interface: str) -> Dict[str, Any]:
        return dict(self.properties) if interface == POWER_INTERFACE else {}

    async def read(self, interface: str, member: str, *_args: Any) -> Optional[List[Any]]:
        return [{"charge": 80.0}] if (interface, member) == (POWER_INTERFACE, "GetState") else None


def power(frame: FakeFrame, properties: Dict[str, Any]) -> Tuple[PowerController, SignalTable]:
    controller = PowerController(frame, FakeClient(properties))  # type: ignore[arg-type]
    return controller, SignalTable(controller.routes())


async def test_power_follows_the_daemons_properties_not_the_stage_name() -> None:
    frame = FakeFrame()
    controller, table = power(
        frame, {"Stage": "out_of_service", "AcceptingSessions": False, "InService": False}
    )
    await controller.refresh()
    controller.show()
    assert (frame.current, frame.ended) == ("out_of_service", 1)
    assert frame.entries["ups"].msgid == "battery low"
    # A stage this UI has never heard of: what counts is what the daemon says of it.
    changed = {"Stage": "new_stage", "AcceptingSessions": True, "InService": True}
    table.dispatch(PROPERTIES_INTERFACE, PROPERTIES_CHANGED, [POWER_INTERFACE, changed, []])
    table.dispatch(POWER_INTERFACE, "StageChanged", ["new_stage", "test"])
    assert frame.current == "home"
    assert controller.accepting_sessions
    assert frame.entries["ups"].level == OK


async def test_power_defaults_to_in_service_while_unreadable() -> None:
    frame = FakeFrame()
    controller, _table = power(frame, {})
    await controller.refresh()
    controller.show()
    assert (controller.stage, controller.accepting_sessions, controller.in_service) == (
        "normal",
        True,
        True,
    )
    assert frame.current == "home"
