"""The D-Bus API: answers while a service crashes; bad calls get clear errors, not tracebacks."""

from __future__ import annotations

import ast
import asyncio
import gc
import logging
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Tuple

import pytest
from dbus_next import DBusError, Message, MessageType
from dbus_next.service import ServiceInterface, method

from govkiosk.api import kiosk as kiosk_api
from govkiosk.app import Daemon
from govkiosk.bus import ServiceHealthChanged
from govkiosk.config import load_config
from govkiosk.contract.connection import close, connect, disconnected
from govkiosk.contract.names import BUS_NAME, KIOSK_INTERFACE, OBJECT_PATH
from govkiosk.dbus import guarded
from govkiosk.errors import GovkioskError
from govkiosk.supervisor import Service
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.govkioskd import CONFIG


class Flaky(Service):
    """Fails three times, then runs."""

    name = "flaky"

    def __init__(self) -> None:
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        if self.starts <= 3:
            raise GovkioskError(f"device not answering (attempt {self.starts})")


@pytest.fixture
async def running(tmp_path: Path, private_bus: PrivateBus) -> AsyncIterator[Tuple[Daemon, Any]]:
    config_path = tmp_path / "govkiosk.toml"
    config_path.write_text(CONFIG.replace("restart_initial = 0.1", "restart_initial = 0.05"))
    daemon = Daemon(
        config_path, load_config(config_path), tmp_path / "state", bus_address=private_bus.address
    )
    daemon.supervisor.add(Flaky())
    task = asyncio.ensure_future(daemon.run())
    client = await connect(private_bus.address)
    for _ in range(200):
        if await name_has_owner(client):
            break
        await asyncio.sleep(0.02)
    introspection = await client.introspect(BUS_NAME, OBJECT_PATH)
    kiosk = client.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection).get_interface(
        KIOSK_INTERFACE
    )
    yield daemon, kiosk
    await close(client)
    daemon.request_stop()
    assert await asyncio.wait_for(task, 5) == 0


async def name_has_owner(client: Any) -> bool:
    reply = await client.call(
        Message(
            destination="org.freedesktop.DBus",
            path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus",
            member="NameHasOwner",
            signature="s",
            body=[BUS_NAME],
        )
    )
    return bool(reply.body[0])


async def test_api_answers_while_a_service_crashes_and_recovers(
    running: Tuple[Daemon, Any],
) -> None:
    daemon, kiosk = running
    changes: List[List[Any]] = []
    kiosk.on_service_health_changed(lambda n, s, d, r: changes.append([n, s, d, r]))
    answers = 0
    for _ in range(400):
        services = {row[0]: row for row in await kiosk.call_get_services()}
        answers += 1
        if services["flaky"][1] == "running" and services["flaky"][3] == 3:
            break
        await asyncio.sleep(0.02)
    assert services["flaky"][1:] == ["running", "", 3]
    assert services["dbus"][1] == "running"
    assert answers > 3  # the API answered all along
    assert await kiosk.get_kiosk_id() == "test-hlj-0001"
    info = await kiosk.call_get_info()
    assert info["name"].value == "测试政务服务中心 1号机"
    flaky = [c for c in changes if c[0] == "flaky" and c[1] == "failed"]
    # Backoff doubles: 0.05, 0.1, 0.2 s (the signals show what ops and the UI see).
    assert [c[2].rsplit("retry in ", 1)[1] for c in flaky][-2:] == ["0.1 s", "0.2 s"]
    assert (await kiosk.call_get_service("flaky"))[1] == "running"
    assert daemon.supervisor.health("flaky")[0].restarts == 3


async def test_unknown_ids_and_wrong_types_get_clear_errors(
    running: Tuple[Daemon, Any], private_bus: PrivateBus
) -> None:
    _daemon, kiosk = running
    with pytest.raises(DBusError) as unknown:
        await kiosk.call_get_service("no-such-service")
    assert unknown.value.type == "cn.govkiosk.Error.UnknownService"
    assert unknown.value.text == "no service named 'no-such-service'"

    raw = await connect(private_bus.address)
    try:
        reply = await raw.call(
            Message(
                destination=BUS_NAME,
                path=OBJECT_PATH,
                interface=KIOSK_INTERFACE,
                member="GetService",
                signature="u",
                body=[7],
            )
        )
        assert reply.message_type is MessageType.ERROR
        assert reply.error_name == "org.freedesktop.DBus.Error.UnknownMethod"
        assert "Traceback" not in str(reply.body)
        reply = await raw.call(
            Message(
                destination=BUS_NAME,
                path=OBJECT_PATH,
                interface=KIOSK_INTERFACE,
                member="Nope",
            )
        )
        assert reply.message_type is MessageType.ERROR
    finally:
        await close(raw)
    # Still serving after all of that.
    assert await kiosk.get_version()


async def test_a_bug_behind_a_method_is_an_internal_error_without_traceback(
    running: Tuple[Daemon, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    daemon, kiosk = running

    def broken(name: Any = None) -> Any:
        raise KeyError("bug")

    monkeypatch.setattr(daemon.supervisor, "health", broken)
    with pytest.raises(DBusError) as err:
        await kiosk.call_get_services()
    assert err.value.type == "cn.govkiosk.Error.Internal"
    assert "Traceback" not in err.value.text
    assert "KeyError" not in err.value.text
    assert "D-Bus method GetServices failed" in caplog.text  # the details stay in the log


async def test_a_health_change_right_after_get_services_arrives_after_its_reply(
    running: Tuple[Daemon, Any], private_bus: PrivateBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UI applies ``GetServices`` as a snapshot and the signals on top of it, in the
    order they arrive: a change made just after the snapshot was read must not overtake
    the reply, or the stale snapshot would undo it for good."""
    daemon, _kiosk = running
    loop = asyncio.get_running_loop()
    row = kiosk_api._row  # GetServices' own step: the daemon's other health reads differ
    change = ServiceHealthChanged("flaky", "failed", "changed after the snapshot", 99)

    def row_then_change(health: Any) -> Any:
        monkeypatch.setattr(kiosk_api, "_row", row)  # once
        loop.call_soon(daemon.bus.publish, change)  # the next thing the daemon's loop does
        return row(health)

    raw = await connect(private_bus.address)
    arrived: List[str] = []

    def record(msg: Message) -> None:
        if msg.message_type is MessageType.SIGNAL and msg.member == "ServiceHealthChanged":
            arrived.append(f"signal {msg.body[3]}")
        elif msg.message_type is MessageType.METHOD_RETURN and msg.sender != "org.freedesktop.DBus":
            arrived.append(f"reply to {msg.member or 'GetServices'}")

    try:
        await raw.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=[f"type='signal',interface='{KIOSK_INTERFACE}',member='ServiceHealthChanged'"],
            )
        )
        raw.add_message_handler(record)
        monkeypatch.setattr(kiosk_api, "_row", row_then_change)
        reply = await raw.call(
            Message(
                destination=BUS_NAME,
                path=OBJECT_PATH,
                interface=KIOSK_INTERFACE,
                member="GetServices",
            )
        )
        assert reply is not None
        assert reply.message_type is MessageType.METHOD_RETURN
        await eventually(lambda: "signal 99" in arrived, "the change's signal")
        assert arrived.index("reply to GetServices") < arrived.index("signal 99"), arrived
    finally:
        await close(raw)


def test_every_method_that_awaits_nothing_is_plain() -> None:
    """A plain method's reply leaves in the step that computed it; an ``async`` one's a
    turn of the loop later, behind any signal sent meanwhile (see the test above)."""
    api = Path(__file__).resolve().parents[1] / "daemon" / "govkiosk" / "api"
    needless = []
    for path in sorted(api.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.AsyncFunctionDef) and node.name[:1].isupper():
                waits = (ast.Await, ast.AsyncFor, ast.AsyncWith)
                if not any(isinstance(inner, waits) for inner in ast.walk(node)):
                    needless.append(f"{path.name}: {node.name}")
    assert needless == []


class Refusing(ServiceInterface):
    """Refuses both ways a method can: in the step that received the call, and later."""

    def __init__(self) -> None:
        super().__init__("cn.govkiosk.Refusing")

    @method()
    @guarded
    def Now(self) -> "s":  # noqa: F821, UP037
        raise GovkioskError("not now")

    @method()
    @guarded
    async def Later(self) -> "s":  # noqa: F821, UP037
        await asyncio.sleep(0)
        raise GovkioskError("not later either")


async def test_a_refusal_is_answered_once_and_a_lost_bus_is_no_unhandled_error(
    private_bus: PrivateBus, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    unhandled: List[Dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
    server = await connect(private_bus.address)
    server.export(OBJECT_PATH, Refusing())
    await server.request_name("cn.govkiosk.Refusing")
    client = await connect(private_bus.address)
    introspection = await client.introspect("cn.govkiosk.Refusing", OBJECT_PATH)
    refusing = client.get_proxy_object(
        "cn.govkiosk.Refusing", OBJECT_PATH, introspection
    ).get_interface("cn.govkiosk.Refusing")
    for call, text in ((refusing.call_now, "not now"), (refusing.call_later, "not later either")):
        with pytest.raises(DBusError) as refused:
            await call()
        assert (refused.value.type, refused.value.text) == ("cn.govkiosk.Error.Govkiosk", text)
    watching = disconnected(server)
    private_bus.stop()  # both connections are lost: each ends with an error
    await asyncio.wait({watching})
    await close(server)
    await close(client)
    del watching
    gc.collect()
    await asyncio.sleep(0)  # the loop reports what was collected unseen in its next step
    assert unhandled == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
