"""Hypothesis over transition sequences: the published list changes only on publish, an
approved revocation or a sync, and a refused transition changes nothing (§7.1.2)."""

from __future__ import annotations

import dataclasses
from typing import Callable, List, Tuple

from hypothesis import event, given, settings
from hypothesis import strategies as st

from govkiosk.items import lifecycle
from govkiosk.items.catalogue import Catalogue, Item, default_catalogue
from govkiosk.items.errors import LifecycleError
from govkiosk.items.lifecycle import (
    Application,
    Evaluation,
    Kind,
    Ledger,
    Outcome,
    State,
    VerificationRecord,
)
from govkiosk.items.roles import REQUIRED_ROLE, Action, Role

DEFAULT = default_catalogue()
SMALL = Catalogue(DEFAULT.items[:2], "small")
#: Two codes, one published and one new, so sequences often reach the same item again.
CODES = ("id_card_print", "new_item")
APPLICATION = Application("reason", "plan", "function", "新事项")
RECORDS = (
    VerificationRecord("run", "ok", "passed", "passed", "passed"),
    VerificationRecord("run", "slow", "passed", "failed", "passed"),
)

Operation = Tuple[Action, Callable[[Ledger], Outcome]]


def role_for(action: Action) -> st.SearchStrategy[Role]:
    """Mostly the role the action needs, so sequences get far enough to publish."""
    return st.sampled_from([REQUIRED_ROLE[action]] * 8 + list(Role))


def definition(code: str) -> Item:
    return dataclasses.replace(DEFAULT.items[0], code=code, standard_row=None)


def operation(action: Action, *args: st.SearchStrategy[object]) -> st.SearchStrategy[Operation]:
    """``action`` on a ledger, with a drawn role and drawn arguments."""
    function = getattr(lifecycle, action.value)
    return st.builds(
        lambda role, *drawn: (action, lambda ledger: function(ledger, role, *drawn)),
        role_for(action),
        *args,
    )


codes = st.sampled_from(CODES)
#: Mostly approving, mostly passing: the interesting sequences get to publish.
evaluations = st.builds(
    Evaluation, st.sampled_from([True, True, True, False]), st.just("n"), st.just("f")
)
transitions = st.one_of(
    operation(Action.APPLY, st.sampled_from(list(Kind)), codes, st.just(APPLICATION)),
    operation(Action.EVALUATE, codes, evaluations),
    st.builds(
        lambda role, code: (
            Action.DEVELOP,
            lambda ledger: lifecycle.develop(ledger, role, code, definition(code)),
        ),
        role_for(Action.DEVELOP),
        codes,
    ),
    operation(Action.VERIFY, codes, st.sampled_from([*RECORDS, RECORDS[0], RECORDS[0]])),
    operation(Action.PUBLISH, codes),
)
syncs = operation(Action.SYNC, st.sampled_from([DEFAULT, SMALL]))
#: A sync in about one step of sixty: it ends every open request.
operations = st.lists(
    st.integers(0, 59).flatmap(lambda n: syncs if n == 0 else transitions),
    min_size=20,
    max_size=100,
)


def start() -> Ledger:
    return lifecycle.sync(Ledger(), None, DEFAULT).ledger


@settings(max_examples=300)
@given(operations)
def test_the_published_list_changes_only_on_publish_revocation_or_sync(
    sequence: List[Operation],
) -> None:
    ledger = start()
    for action, change in sequence:
        try:
            outcome = change(ledger)
        except LifecycleError:
            continue
        event(action.value)
        after = outcome.ledger
        assert outcome.audit or action is Action.SYNC  # a sync that changes nothing has none
        if after.published != ledger.published:
            event(f"published list changed by {action.value}")
            revoked = any(r.state is State.APPROVED for r in outcome.requests)
            assert action in (Action.PUBLISH, Action.SYNC) or (
                action is Action.EVALUATE and revoked
            )
        if action is Action.PUBLISH:
            (request,) = outcome.requests
            assert after.published[request.code].version == request.version
        assert all(item.state == "published" for item in after.published.values())
        assert all(r.is_open and r.code == code for code, r in after.open.items())
        ledger = after


@given(operations)
def test_refused_transitions_leave_no_trace(sequence: List[Operation]) -> None:
    ledger = start()
    for _action, change in sequence:
        copy = dataclasses.replace(
            ledger,
            published=dict(ledger.published),
            open=dict(ledger.open),
            last_version=dict(ledger.last_version),
        )
        try:
            ledger = change(ledger).ledger
        except LifecycleError:
            assert ledger == copy
