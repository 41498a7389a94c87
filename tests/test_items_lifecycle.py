"""The item lifecycle (§7.1.2): every transition, every wrong role, the audit, and what citizens see."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable, Dict, List, Tuple

import pytest

from govkiosk.bus import EventBus
from govkiosk.items.catalogue import Catalogue, Item, default_catalogue, loads_catalogue
from govkiosk.items.errors import (
    CatalogueFileError,
    InvalidRequestError,
    InvalidTransitionError,
    UnknownItemError,
    WrongRoleError,
)
from govkiosk.items.lifecycle import (
    Application,
    Evaluation,
    Kind,
    State,
    VerificationRecord,
)
from govkiosk.items.registry import CatalogueChanged, ItemRegistry
from govkiosk.items.roles import REQUIRED_ROLE, Action, Role
from govkiosk.store import Store

APPLICATION = Application(
    reason="群众反映需要在一体机开具",
    plan="对接部门接口并开发打印流程",
    function="查询并打印证明",
    name="新事项",
)
APPROVE = Evaluation(approved=True, necessity="办件量大，必要", feasibility="部门接口已具备，可行")
REJECT = Evaluation(approved=False, necessity="窗口已能办理", feasibility="接口尚未具备")
PASSED = VerificationRecord("run-0001", "全流程通过", "passed", "passed", "passed")
FAILED = VerificationRecord("run-0002", "性能不达标", "passed", "failed", "passed")


class Kiosk:
    """A registry on a real state database, with the events it published."""

    def __init__(
        self, store: Store, registry: ItemRegistry, events: List[CatalogueChanged]
    ) -> None:
        self.store = store
        self.registry = registry
        self.events = events

    async def snapshot(self) -> Tuple[object, ...]:
        """Everything a refused operation must leave as it was."""
        published = await self.registry.published()  # loads the ledger on first use
        requests = await self.registry.open_requests()
        rows = await self.store.fetchall("SELECT COUNT(*) AS n FROM items_audit")
        return (published, requests, rows[0]["n"])


@pytest.fixture
async def kiosk(tmp_path: Path) -> AsyncIterator[Kiosk]:
    store = Store(tmp_path)
    await store.open()
    bus = EventBus()
    events: List[CatalogueChanged] = []
    bus.subscribe(CatalogueChanged, events.append)
    yield Kiosk(store, ItemRegistry(store, bus), events)
    await store.close()


def definition(code: str, name: str = "新事项") -> Item:
    base = default_catalogue().items[0]
    return dataclasses.replace(base, code=code, name=name, standard_row=None)


async def add_item(registry: ItemRegistry, code: str) -> None:
    await registry.apply(Role.DEPARTMENT, Kind.ADD, code, APPLICATION)
    await registry.evaluate(Role.OFFICE, code, APPROVE)
    await registry.develop(Role.DEVELOPER, code, definition(code))
    await registry.verify(Role.TESTER, code, PASSED)
    await registry.publish(Role.DEPARTMENT, code)


async def test_first_use_publishes_the_default_catalogue_once(kiosk: Kiosk) -> None:
    published = await kiosk.registry.published()
    assert [i.code for i in published] == [i.code for i in default_catalogue().items]
    history = await kiosk.registry.history("no_criminal_record")
    assert [(e.action, e.role, e.to_state, e.version) for e in history] == [
        ("sync", "system", "published", 1)
    ]
    assert kiosk.events == []  # nothing changed for anyone listening: it was the start


async def test_adding_an_item_walks_every_state_and_leaves_an_audit(kiosk: Kiosk) -> None:
    registry = kiosk.registry
    steps: List[Tuple[Callable[[], Awaitable[object]], State]] = [
        (lambda: registry.apply(Role.DEPARTMENT, Kind.ADD, "new_item", APPLICATION), State.APPLIED),
        (lambda: registry.evaluate(Role.OFFICE, "new_item", APPROVE), State.EVALUATED),
        (
            lambda: registry.develop(Role.DEVELOPER, "new_item", definition("new_item")),
            State.DEVELOPED,
        ),
        (lambda: registry.verify(Role.TESTER, "new_item", PASSED), State.VERIFIED),
    ]
    for step, state in steps:
        request = await step()
        assert request.state is state  # type: ignore[attr-defined]
        with pytest.raises(UnknownItemError):  # not for citizens until published
            await registry.get_published("new_item")
    request = await registry.publish(Role.DEPARTMENT, "new_item")
    assert (request.state, request.version) == (State.PUBLISHED, 1)
    item = await registry.get_published("new_item")
    assert (item.name, item.state, item.version) == ("新事项", "published", 1)
    assert await registry.open_requests() == ()
    assert kiosk.events == [CatalogueChanged(("new_item",), "publish")]

    history = await registry.history("new_item")
    assert [(e.action, e.role, e.from_state, e.to_state, e.version) for e in history] == [
        ("apply", "department", "", "applied", 1),
        ("evaluate", "office", "applied", "evaluated", 1),
        ("develop", "developer", "evaluated", "developed", 1),
        ("verify", "tester", "developed", "verified", 1),
        ("publish", "department", "verified", "published", 1),
    ]
    assert history[0].detail == {"kind": "add", **dataclasses.asdict(APPLICATION)}
    assert history[1].detail == dataclasses.asdict(APPROVE)
    assert history[2].detail["item"]["code"] == "new_item"
    assert history[3].detail == dataclasses.asdict(PASSED)
    assert history[4].detail == {"replaces": None}
    assert all(e.at > 0 for e in history)
    assert len({e.request_id for e in history}) == 1


async def test_a_change_takes_effect_only_when_its_version_is_published(kiosk: Kiosk) -> None:
    registry = kiosk.registry
    code = "id_card_print"
    old = await registry.get_published(code)
    request = await registry.apply(Role.DEPARTMENT, Kind.CHANGE, code, Application("r", "p", "f"))
    assert (request.version, request.application.name) == (2, "身份证打印")
    await registry.evaluate(Role.OFFICE, code, APPROVE)
    changed = dataclasses.replace(old, printing=dataclasses.replace(old.printing, a4_pages=2))
    await registry.develop(Role.DEVELOPER, code, changed)
    await registry.verify(Role.TESTER, code, PASSED)
    assert await registry.get_published(code) == old  # meanwhile the old version serves
    assert kiosk.events == []
    await registry.publish(Role.DEPARTMENT, code)
    new = await registry.get_published(code)
    assert (new.version, new.printing.a4_pages) == (2, 2)
    assert kiosk.events == [CatalogueChanged((code,), "publish")]
    assert (await registry.history(code))[-1].detail == {"replaces": 1}


async def test_revocation_once_approved_removes_the_item(kiosk: Kiosk) -> None:
    registry = kiosk.registry
    code = "household_register_print"
    request = await registry.apply(Role.DEPARTMENT, Kind.REVOKE, code, Application("r", "p", "f"))
    assert (request.state, request.version) == (State.APPLIED, 1)
    await registry.get_published(code)  # still served while the office evaluates
    request = await registry.evaluate(Role.OFFICE, code, APPROVE)
    assert request.state is State.APPROVED
    with pytest.raises(UnknownItemError):
        await registry.get_published(code)
    assert code not in [i.code for i in await registry.published()]
    assert kiosk.events == [CatalogueChanged((code,), "evaluate")]
    assert [(e.action, e.to_state) for e in await registry.history(code)][-2:] == [
        ("apply", "applied"),
        ("evaluate", "approved"),
    ]
    # Added again later, it counts on from the version it had.
    await add_item(registry, code)
    assert (await registry.get_published(code)).version == 2


async def test_a_rejected_application_ends_and_changes_nothing_published(kiosk: Kiosk) -> None:
    registry = kiosk.registry
    await registry.apply(Role.DEPARTMENT, Kind.REVOKE, "id_card_print", Application("r", "p", "f"))
    request = await registry.evaluate(Role.OFFICE, "id_card_print", REJECT)
    assert request.state is State.REJECTED
    assert await registry.open_requests() == ()
    assert (await registry.get_published("id_card_print")).version == 1
    assert kiosk.events == []


async def test_a_failed_verification_is_kept_and_the_request_stays_developed(kiosk: Kiosk) -> None:
    registry = kiosk.registry
    await registry.apply(Role.DEPARTMENT, Kind.ADD, "new_item", APPLICATION)
    await registry.evaluate(Role.OFFICE, "new_item", APPROVE)
    await registry.develop(Role.DEVELOPER, "new_item", definition("new_item"))
    request = await registry.verify(Role.TESTER, "new_item", FAILED)
    assert (request.state, request.record) == (State.DEVELOPED, FAILED)
    with pytest.raises(InvalidTransitionError):
        await registry.publish(Role.DEPARTMENT, "new_item")
    request = await registry.verify(Role.TESTER, "new_item", PASSED)
    assert request.state is State.VERIFIED
    history = await registry.history("new_item")
    assert [(e.action, e.to_state, e.detail.get("performance")) for e in history[-2:]] == [
        ("verify", "developed", "failed"),
        ("verify", "verified", "passed"),
    ]


#: Each action with arguments that would succeed for the right role at the right moment.
ACTIONS: Dict[Action, Callable[[ItemRegistry, Role], Awaitable[object]]] = {
    Action.APPLY: lambda r, role: r.apply(role, Kind.ADD, "new_item", APPLICATION),
    Action.EVALUATE: lambda r, role: r.evaluate(role, "new_item", APPROVE),
    Action.DEVELOP: lambda r, role: r.develop(role, "new_item", definition("new_item")),
    Action.VERIFY: lambda r, role: r.verify(role, "new_item", PASSED),
    Action.PUBLISH: lambda r, role: r.publish(role, "new_item"),
    Action.SYNC: lambda r, role: r.sync(role, default_catalogue()),
}


async def test_every_wrong_role_is_refused_at_every_step_and_nothing_changes(kiosk: Kiosk) -> None:
    registry = kiosk.registry
    order = [Action.APPLY, Action.EVALUATE, Action.DEVELOP, Action.VERIFY, Action.PUBLISH]
    refused = 0
    for action in [*order, Action.SYNC]:
        for role in Role:
            if role is REQUIRED_ROLE[action]:
                continue
            before = await kiosk.snapshot()
            with pytest.raises(
                WrongRoleError, match=f"{action.value} needs the {REQUIRED_ROLE[action].value} role"
            ):
                await ACTIONS[action](registry, role)
            assert await kiosk.snapshot() == before
            refused += 1
        if action is not Action.SYNC:
            await ACTIONS[action](registry, REQUIRED_ROLE[action])
    assert refused == len(ACTIONS) * (len(Role) - 1)
    assert (await registry.get_published("new_item")).version == 1


async def test_out_of_order_transitions_are_refused_and_change_nothing(kiosk: Kiosk) -> None:
    registry = kiosk.registry
    before = await kiosk.snapshot()
    refusals = [
        (ACTIONS[Action.EVALUATE], Role.OFFICE, UnknownItemError, "no item new_item"),
        (
            lambda r, role: r.apply(role, Kind.ADD, "id_card_print", APPLICATION),
            Role.DEPARTMENT,
            InvalidTransitionError,
            "id_card_print is already published: apply for a change",
        ),
        (
            lambda r, role: r.apply(role, Kind.CHANGE, "nothing_here", APPLICATION),
            Role.DEPARTMENT,
            UnknownItemError,
            "nothing_here is not published: nothing to change",
        ),
        (
            lambda r, role: r.apply(
                role, Kind.ADD, "new_item", dataclasses.replace(APPLICATION, name="")
            ),
            Role.DEPARTMENT,
            InvalidRequestError,
            "application: name: required for a new item",
        ),
        (
            lambda r, role: r.publish(role, "id_card_print"),
            Role.DEPARTMENT,
            InvalidTransitionError,
            "id_card_print: no change request is open for this item",
        ),
    ]
    for call, role, error, message in refusals:
        with pytest.raises(error, match=message):
            await call(registry, role)
        assert await kiosk.snapshot() == before

    await registry.apply(Role.DEPARTMENT, Kind.REVOKE, "id_card_print", Application("r", "p", "f"))
    before = await kiosk.snapshot()
    with pytest.raises(InvalidTransitionError, match="the revoke request #1 is still open"):
        await registry.apply(
            Role.DEPARTMENT, Kind.CHANGE, "id_card_print", Application("r", "p", "f")
        )
    with pytest.raises(
        InvalidTransitionError,
        match=r"id_card_print: develop needs the revoke request \(#1\) to be evaluated or developed; it is applied",
    ):
        await registry.develop(Role.DEVELOPER, "id_card_print", definition("id_card_print"))
    await registry.apply(Role.DEPARTMENT, Kind.ADD, "other", APPLICATION)
    await registry.evaluate(Role.OFFICE, "other", APPROVE)
    before = await kiosk.snapshot()
    with pytest.raises(InvalidRequestError, match="the item definition is for new_item, not other"):
        await registry.develop(Role.DEVELOPER, "other", definition("new_item"))
    assert await kiosk.snapshot() == before


async def test_a_bad_catalogue_never_replaces_the_good_one(kiosk: Kiosk) -> None:
    registry = kiosk.registry
    before = await kiosk.snapshot()
    bad = '[[items]]\ncode = "x"\nname = "缺少其他要素"\n'
    with pytest.raises(
        CatalogueFileError, match=re.escape('sync.toml: items[0] (code "x"): department: required')
    ):
        await registry.sync_text(Role.OFFICE, bad, "sync.toml")
    with pytest.raises(CatalogueFileError, match="cannot be read"):
        await registry.sync_file(Role.OFFICE, Path("/nonexistent/catalogue.toml"))
    assert await kiosk.snapshot() == before
    assert kiosk.events == []


async def test_a_sync_replaces_the_list_and_supersedes_open_requests(
    kiosk: Kiosk, tmp_path: Path
) -> None:
    registry = kiosk.registry
    await registry.apply(Role.DEPARTMENT, Kind.CHANGE, "id_card_print", Application("r", "p", "f"))
    text = (Path(__file__).parent.parent / "daemon/govkiosk/items/data/catalogue.toml").read_text(
        encoding="utf-8"
    )
    smaller = loads_catalogue(text, "x")
    kept = Catalogue(tuple(i for i in smaller.items if i.department == "人社"), "province.toml")
    changed = await registry.sync(Role.OFFICE, kept)
    assert changed == ("household_register_print", "id_card_print", "no_criminal_record")
    assert [i.department for i in await registry.published()] == ["人社"] * 4
    assert await registry.open_requests() == ()
    assert kiosk.events == [CatalogueChanged(changed, "sync")]
    history = await registry.history("id_card_print")
    assert sorted((e.action, e.from_state, e.to_state) for e in history[-2:]) == [
        ("sync", "applied", "superseded"),
        ("sync", "published", "removed"),
    ]
    file = tmp_path / "full.toml"
    file.write_text(text, encoding="utf-8")
    assert await registry.sync_file(Role.OFFICE, file) == changed
    assert len(await registry.published()) == 7


async def test_the_ledger_survives_a_restart(kiosk: Kiosk, tmp_path: Path) -> None:
    registry = kiosk.registry
    await add_item(registry, "new_item")
    await registry.apply(Role.DEPARTMENT, Kind.CHANGE, "new_item", Application("r", "p", "f"))
    await registry.evaluate(Role.OFFICE, "new_item", APPROVE)
    await registry.develop(Role.DEVELOPER, "new_item", definition("new_item", "新事项二"))
    published, requests = await registry.published(), await registry.open_requests()

    again = ItemRegistry(kiosk.store, EventBus())
    assert await again.published() == published
    assert await again.open_requests() == requests
    await again.verify(Role.TESTER, "new_item", PASSED)
    await again.publish(Role.DEPARTMENT, "new_item")
    assert (await again.get_published("new_item")).version == 2
    next_request = await again.apply(
        Role.DEPARTMENT, Kind.REVOKE, "new_item", Application("r", "p", "f")
    )
    assert next_request.id == 3


async def test_unknown_items_have_no_history(kiosk: Kiosk) -> None:
    with pytest.raises(UnknownItemError, match="no item nothing_here"):
        await kiosk.registry.history("nothing_here")


async def test_a_failed_write_changes_nothing_in_memory_or_on_disk(kiosk: Kiosk) -> None:
    before = await kiosk.snapshot()
    # The request row is written, then the audit row fails: the transaction takes both back.
    await kiosk.store.execute("ALTER TABLE items_audit RENAME TO items_audit_away")
    with pytest.raises(sqlite3.OperationalError):
        await kiosk.registry.apply(Role.DEPARTMENT, Kind.REVOKE, "id_card_print", APPLICATION)
    await kiosk.store.execute("ALTER TABLE items_audit_away RENAME TO items_audit")
    assert await kiosk.snapshot() == before
    assert await kiosk.store.fetchall("SELECT id FROM items_requests") == []
    assert kiosk.events == []
