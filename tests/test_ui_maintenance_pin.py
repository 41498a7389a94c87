"""The maintenance PIN changed on the kiosk (§8 f), in the real Kivy UI against the whole kiosk.

An expired PIN at login opens the change dialog (修改维护密码): the new PIN then logs in,
and the old one no longer does. Two different new PINs are refused before the daemon is
asked; the daemon's refusals (the same PIN, too short, a wrong current PIN, the lockout)
are shown in words. The maintenance screen says when the PIN expires and changes it from
its button. The PINs are nowhere: dots on screen, never in the log.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, List

import pytest

from govkiosk.contract.names import MAINTENANCE_INTERFACE
from govkiosk.maintenance.pin import hash_pin
from govkiosk_ui import i18n
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import kiosk
from harness.kivy_ui import Driver, walk

#: A whole kiosk, and each change hashes the new PIN at full strength: more than the
#: default minute on a loaded machine.
pytestmark = [pytest.mark.ui, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(150)]

PIN, NEW, OTHER = "246810", "975310", "135799"


def maintenance(age_days: int, extra: str = "") -> str:
    """A ``[maintenance]`` section whose PIN was set ``age_days`` ago (90 days allowed)."""
    pin_set = (datetime.date.today() - datetime.timedelta(days=age_days)).isoformat()
    return (
        f'\n[maintenance]\npin_hash = "{hash_pin(PIN, iterations=1000)}"\n'
        f'pin_set = "{pin_set}"\n{extra}'
    )


async def press(ui: Driver, pad_root: Any, keys: List[str], *, tap: bool = True) -> None:
    """Tap ``keys`` (digits, "delete", "ok") on the keypad inside ``pad_root``; without
    ``tap``, send them as its keys do (a tap redraws the window twice: slow under Xvfb)."""
    from govkiosk_ui.screens.maintenance import PinPad  # noqa: PLC0415 - Kivy set up by ui

    (pad,) = [w for w in walk(pad_root) if isinstance(w, PinPad)]
    buttons = {b.key: b for b in pad.children}
    for key in keys:
        if tap:
            await ui.tap(buttons[key])
        else:
            pad.press(key)
    await ui.frames(1)


def digits(pin: str) -> List[str]:
    return list(pin)


async def login(ui: Driver, pin: str) -> None:
    app = ui.app
    if app.current != "maintenance_login":
        app.open_maintenance()
        await ui.on_screen("maintenance_login")
    await press(ui, app.screen("maintenance_login"), [*digits(pin), "ok"])


async def fill(
    ui: Driver, dialog: Any, current: str, new: str, repeat: str, *, tap: bool = True
) -> None:
    """Type the empty fields in order, OK after each (the last OK asks the daemon)."""
    for field, value in (("current", current), ("new", new), ("repeat", repeat)):
        if getattr(dialog, field):
            continue
        await ui.until(lambda f=field: dialog.field == f and not dialog.busy, f"the {field} PIN")
        await press(ui, dialog, [*digits(value), "ok"], tap=tap)


def shown_texts(root: Any) -> List[str]:
    from kivy.uix.label import Label  # noqa: PLC0415 - Kivy set up by ui

    return [w.text for w in walk(root) if isinstance(w, Label)]


def assert_never_shown_or_logged(ui: Driver, log: Path) -> None:
    texts = shown_texts(ui.app.root_window)
    logged = log.read_text(encoding="utf-8", errors="replace")
    for pin in (PIN, NEW, OTHER):
        assert not any(pin in text for text in texts), pin
        assert pin not in logged


async def test_an_expired_pin_at_login_is_changed_and_the_new_one_logs_in(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    app = ui.app
    async with kiosk(tmp_path, ui_bus, cupsd, maintenance(100)) as k:
        await ui.on_screen("home")
        await login(ui, PIN)
        dialog = app.maintenance.dialog()
        await ui.until(lambda: dialog.parent is not None, "the PIN change")
        assert app.current == "maintenance_login"
        assert dialog.reason == "密码已过期，请设置新密码"
        assert app.maintenance.token == ""
        # The login just proved the current PIN: it is filled in, as dots.
        assert dialog.field == "new"
        assert dialog.ids.current.text.split("\n")[1].split() == ["●"] * len(PIN)
        await ui.frames(2)
        assert dialog.ids.pad.children[0].text == "下一步"
        await press(ui, dialog, [*digits(NEW), "ok"])
        assert dialog.field == "repeat"
        assert dialog.ids.pad.children[0].text == "修改密码"
        assert_never_shown_or_logged(ui, k.log)
        await press(ui, dialog, [*digits(NEW), "ok"])
        await ui.on_screen("maintenance")
        screen = app.screen("maintenance")
        await ui.until(lambda: screen.pin_text == "维护密码已修改", "the change said")
        assert dialog.parent is None
        assert (dialog.current, dialog.new, dialog.repeat) == ("", "", "")
        assert app.maintenance.token
        assert_never_shown_or_logged(ui, k.log)

        await ui.tap(next(b for b in ui.buttons() if b.primary and b in screen.walk()))  # 退出
        await ui.on_screen("home")
        await login(ui, PIN)
        login_screen = app.screen("maintenance_login")
        await ui.until(lambda: login_screen.problem == "密码错误", "the old PIN refused")
        assert dialog.parent is None
        await login(ui, NEW)
        await ui.on_screen("maintenance")
        assert app.maintenance.token
        assert_never_shown_or_logged(ui, k.log)


async def test_the_dialog_refuses_in_words_and_asks_the_daemon_only_for_matching_pins(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path, monkeypatch: Any
) -> None:
    app = ui.app
    asked: List[str] = []
    call = app.client.call

    async def counted(interface: str, member: str, *args: Any) -> Any:
        if interface == MAINTENANCE_INTERFACE:
            asked.append(member)
        return await call(interface, member, *args)

    monkeypatch.setattr(app.client, "call", counted)
    async with kiosk(tmp_path, ui_bus, cupsd, maintenance(100, "max_failures = 3\n")) as k:
        await ui.on_screen("home")
        await login(ui, PIN)
        dialog = app.maintenance.dialog()
        await ui.until(lambda: dialog.parent is not None, "the PIN change")
        assert asked == ["Login"]

        # Two different new PINs: refused here, the daemon is not asked.
        await fill(ui, dialog, PIN, NEW, OTHER)
        assert dialog.problem == "两次输入的新密码不一致"
        assert (dialog.field, dialog.new, dialog.repeat) == ("new", "", "")
        assert len(dialog.current) == len(PIN)
        assert asked == ["Login"]
        # OK on an empty field says what it needs.
        await press(ui, dialog, ["ok"])
        assert dialog.problem == "请输入新密码"
        assert asked == ["Login"]

        for new, problem in (
            (PIN, "新密码不能与当前密码相同"),  # PinReused
            ("1234", "新密码须为 6 到 12 位数字"),  # InvalidPin
        ):
            await fill(ui, dialog, PIN, new, new, tap=False)
            await ui.until(lambda p=problem: dialog.problem == p, problem)
            assert (dialog.field, dialog.new, dialog.repeat) == ("new", "", "")
        assert asked == ["Login", "ChangePin", "ChangePin"]

        # A wrong current PIN: the current field is emptied and asked again; the third
        # wrong one in a row locks the change out as it does the login.
        await ui.tap(dialog.ids.current)
        assert dialog.field == "current"
        await press(ui, dialog, ["delete"] * len(PIN))
        assert dialog.current == ""
        for attempt in range(3):
            await fill(ui, dialog, "111111", NEW, NEW, tap=attempt == 0)
            await ui.until(lambda: dialog.problem == "当前密码错误", f"wrong PIN {attempt}")
            assert (dialog.field, dialog.current, dialog.new) == ("current", "", "")
        await fill(ui, dialog, PIN, NEW, NEW, tap=False)
        await ui.until(lambda: dialog.problem == "密码错误次数过多，请 5 分钟后再试", "the lockout")
        assert asked.count("ChangePin") == 6
        assert_never_shown_or_logged(ui, k.log)

        await ui.tap(dialog.ids.cancel)
        assert dialog.parent is None
        assert (dialog.current, dialog.new, dialog.repeat, dialog.problem) == ("", "", "", "")
        assert app.current == "maintenance_login"
        assert app.maintenance.token == ""


async def test_the_maintenance_screen_says_when_the_pin_expires_and_changes_it(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    app = ui.app
    async with kiosk(tmp_path, ui_bus, cupsd, maintenance(80)) as k:
        await ui.on_screen("home")
        assert await app.client.read_properties(MAINTENANCE_INTERFACE) == {"PinWarnDays": 14}
        await login(ui, PIN)
        await ui.on_screen("maintenance")
        screen = app.screen("maintenance")
        await ui.until(lambda: screen.pin_text == "维护密码将于 10 天后过期", "the expiry")
        assert screen.ids.pin_notice.text == "维护密码将于 10 天后过期"
        try:  # said again in the language the operator switches to
            i18n.set_language("en")
            assert screen.pin_text == "The maintenance PIN expires in 10 days"
        finally:
            i18n.set_language(i18n.DEFAULT_LANGUAGE)
        assert screen.pin_text == "维护密码将于 10 天后过期"

        await ui.tap(screen.ids.change_pin)  # 修改维护密码
        dialog = app.maintenance.dialog()
        await ui.until(lambda: dialog.parent is not None, "the PIN change")
        assert dialog.reason == "请输入当前密码，再输入两次新密码。"
        assert (dialog.field, dialog.current) == ("current", "")
        await fill(ui, dialog, PIN, NEW, NEW)
        await ui.until(lambda: screen.pin_text == "维护密码已修改", "the change said")
        assert app.current == "maintenance"
        assert dialog.parent is None
        assert app.maintenance.token
        # The new PIN is 0 days old: nothing to announce.
        await ui.tap(next(b for b in ui.buttons() if b.text == "刷新"))
        await ui.until(lambda: screen.pin_text == "", "no expiry to announce")

        await ui.tap(next(b for b in ui.buttons() if b.primary and b in screen.walk()))
        await ui.on_screen("home")
        assert screen.pin_text == ""  # nothing of this login is said to the next one
        await login(ui, PIN)
        login_screen = app.screen("maintenance_login")
        await ui.until(lambda: login_screen.problem == "密码错误", "the old PIN refused")
        await login(ui, NEW)
        await ui.on_screen("maintenance")
        assert_never_shown_or_logged(ui, k.log)
        app.maintenance.logout()
        await ui.on_screen("home")
