"""好差评 and frequent items over ``cn.govkiosk.Session1`` against the whole kiosk
(harness.kiosk): a citizen's journey to the done screen, the rating, the counts in the
daemon's SQLite, and ``FrequentItems`` across a restart of the daemon."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from dbus_next.errors import DBusError

from govkiosk.contract.names import (
    ALREADY_EVALUATED_ERROR,
    BUS_NAME,
    ERROR_PREFIX,
    INVALID_EVALUATION_ERROR,
    KIOSK_INTERFACE,
    NOT_DONE_ERROR,
    OBJECT_PATH,
)
from govkiosk.dbus import error_name
from govkiosk.devices.idcard.cardtext import ResidentIdentity
from govkiosk.evaluation.events import EvaluationGiven
from govkiosk.session.errors import AlreadyEvaluatedError, InvalidEvaluationError, NotDoneError
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import Kiosk, kiosk

#: Items without face verification: the quickest journeys.
ID_CARD = "id_card_print"
HOUSEHOLD = "household_register_print"


async def to_done(k: Kiosk, item: str) -> Tuple[str, ResidentIdentity]:
    """A journey of ``item`` to the done screen: the session id and the card's holder."""
    sid: str = await k.session.call_start_session(item, "zh_CN")
    await k.until(step="identity", state="waiting")
    identity = await k.card()
    await k.until(step="identity", choices=["confirm", "cancel"])
    await k.session.call_choose(sid, "confirm")
    await k.until(step="consent", state="waiting")
    await k.session.call_choose(sid, "agree")
    await k.until(step="preview", state="waiting")
    await k.session.call_choose(sid, "print")
    await k.until(step="done", state="done")
    return sid, identity


async def finish(k: Kiosk, sid: str) -> None:
    await k.session.call_choose(sid, "finish")
    await k.ended()


async def refused(call: Any, name: str) -> str:
    with pytest.raises(DBusError) as error:
        await call
    assert error.value.type == ERROR_PREFIX + name, error.value.text
    return str(error.value.text)


async def statistics(k: Kiosk, days: int = 0) -> List[Any]:
    bus = k.session.bus
    introspection = await bus.introspect(BUS_NAME, OBJECT_PATH)
    proxy = bus.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
    reply: List[Any] = await proxy.get_interface(KIOSK_INTERFACE).call_statistics(days)
    return reply


def needles(*terms: str) -> List[bytes]:
    return [t.encode(e) for t in terms for e in ("utf-8", "gb18030", "utf-16-le", "utf-16-be")]


def test_the_contract_names_the_refusals() -> None:
    assert tuple(
        error_name(cls("")) for cls in (NotDoneError, AlreadyEvaluatedError, InvalidEvaluationError)
    ) == (NOT_DONE_ERROR, ALREADY_EVALUATED_ERROR, INVALID_EVALUATION_ERROR)


async def test_a_rating_at_done_is_counted_once_and_holds_nothing_personal(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        reasons = await k.session.call_evaluation_reasons("zh_CN")
        assert ["too_slow", "等待时间长"] in reasons
        assert ["too_slow", "Waited too long"] in await k.session.call_evaluation_reasons("en")
        await refused(k.session.call_evaluation_reasons("de"), "InvalidEvaluation")

        sid: str = await k.session.call_start_session(ID_CARD, "zh_CN")
        state = await k.until(step="identity", state="waiting")
        assert state["evaluated"] is False
        await refused(k.session.call_evaluate(sid, 5, []), "NotDone")
        await k.session.call_cancel(sid)
        await k.ended()

        sid, identity = await to_done(k, ID_CARD)
        await refused(k.session.call_evaluate("0" * 32, 5, []), "WrongSession")
        await refused(k.session.call_evaluate(sid, 0, []), "InvalidEvaluation")
        await refused(k.session.call_evaluate(sid, 6, []), "InvalidEvaluation")
        await refused(k.session.call_evaluate(sid, 4, ["too_slow"]), "InvalidEvaluation")
        text = await refused(
            k.session.call_evaluate(sid, 1, ["too_slow", "bribe_asked"]), "InvalidEvaluation"
        )
        assert "bribe_asked" not in text
        assert (await k.state())["evaluated"] is False  # nothing refused was counted
        assert not [e for e in k.events if isinstance(e, EvaluationGiven)]

        assert await k.session.call_evaluate(sid, 2, ["too_slow", "print_quality"]) is True
        state = await k.until(step="done", evaluated=True)
        assert state["state"] == "done"
        await refused(k.session.call_evaluate(sid, 5, []), "AlreadyEvaluated")
        await finish(k, sid)
        await refused(k.session.call_evaluate(sid, 5, []), "WrongSession")

        first, last, rows = await statistics(k)
        assert first == last != ""
        assert rows == [
            [
                ID_CARD,
                {"cancelled": 1, "done": 1},
                {"2": 1},
                {"print_quality": 1, "too_slow": 1},
            ]
        ]
        assert (await statistics(k, 1))[2] == rows
    # §8 d: the state directory (database, WAL) holds nothing of the citizen.
    files = [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for needle in needles(identity.name, identity.id_number, identity.address):
            assert needle not in data, f"{path.name} holds the citizen's data"


async def test_frequent_items_follow_completed_sessions_across_a_restart(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        assert await k.session.call_frequent_items(4) == []
        sid, _ = await to_done(k, ID_CARD)
        await finish(k, sid)
        for _ in range(2):
            sid, _ = await to_done(k, HOUSEHOLD)
            await finish(k, sid)
        # A session that did not complete is not a use of the item.
        for _ in range(2):
            sid = await k.session.call_start_session(ID_CARD, "zh_CN")
            await k.until(step="identity", state="waiting")
            await k.session.call_cancel(sid)
            await k.ended()
        assert await k.session.call_frequent_items(4) == [HOUSEHOLD, ID_CARD]
        assert await k.session.call_frequent_items(1) == [HOUSEHOLD]
        assert await k.session.call_frequent_items(0) == []
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        assert await k.session.call_frequent_items(4) == [HOUSEHOLD, ID_CARD]
        sid, _ = await to_done(k, ID_CARD)  # counted when it ends, not at done
        assert await k.session.call_frequent_items(4) == [HOUSEHOLD, ID_CARD]
        await finish(k, sid)
        # Two each: a tie goes in the catalogue's order, where the ID card comes first.
        assert await k.session.call_frequent_items(4) == [ID_CARD, HOUSEHOLD]


async def test_frequent_default_fills_in_published_items_only(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    settings = f'\n[evaluation]\nfrequent_default = ["no_such_item", "{HOUSEHOLD}", "{ID_CARD}"]'
    async with kiosk(tmp_path, private_bus, cupsd, session=settings) as k:
        assert await k.session.call_frequent_items(4) == [HOUSEHOLD, ID_CARD]
        sid, _ = await to_done(k, ID_CARD)
        await finish(k, sid)
        assert await k.session.call_frequent_items(4) == [ID_CARD, HOUSEHOLD]
        state: Dict[str, Any] = await k.state()
        assert state == {}
