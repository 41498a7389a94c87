"""The item lifecycle (§7.1.2) as pure functions: a ``Ledger`` in, an ``Outcome`` out.

Adding or changing an item::

    applied ──evaluate(approved)──▶ evaluated ──develop──▶ developed ──verify(passed)──▶
    verified ──publish──▶ published

Revoking one::

    applied ──evaluate(approved)──▶ approved   (the item leaves the published list)

An evaluation that does not approve ends the request ``rejected``; a failed verification
record is kept and the request stays ``developed`` (fixed and verified again). A catalogue
sync (the managing office's authoritative list) replaces the published list and ends every
open request ``superseded``. One request per item is open at a time; a change to a
published item leaves the published version untouched until the new one is published.

Each function checks the caller's role first (a wrong role learns nothing about the
item), then the item and its request's state; it raises a :class:`LifecycleError` and
changes nothing, or returns the new ledger, the request rows to write and the audit
entries, which the registry stores in one transaction.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Dict, List, Literal, Mapping, Optional, Tuple

from ..fields import required
from .catalogue import CODE_EXPECT, Catalogue, Item, item_document, valid_code
from .errors import InvalidRequestError, InvalidTransitionError, UnknownItemError, WrongRoleError
from .roles import REQUIRED_ROLE, Action, Role
from .typed import choice

#: The audit's role for what the daemon does by itself (the first catalogue).
SYSTEM = "system"


class Kind(str, Enum):
    ADD = "add"
    CHANGE = "change"
    REVOKE = "revoke"


class State(str, Enum):
    APPLIED = "applied"
    EVALUATED = "evaluated"
    DEVELOPED = "developed"
    VERIFIED = "verified"
    PUBLISHED = "published"  #: final: the new version is live
    APPROVED = "approved"  #: final: the revocation took the item off the list
    REJECTED = "rejected"  #: final: the managing office did not agree
    SUPERSEDED = "superseded"  #: final: a catalogue sync replaced the list


OPEN_STATES = frozenset({State.APPLIED, State.EVALUATED, State.DEVELOPED, State.VERIFIED})


def _text(value: str) -> bool:
    return bool(value.strip())


def _some_text(what: str) -> Any:
    return required(expect=what, check=_text)


@dataclass(frozen=True)
class Application:
    """The department's application (§7.1.2 a). ``name`` defaults to the published name."""

    reason: str = _some_text("the reason for the change (调整原因)")
    plan: str = _some_text("the plan (调整方案)")
    function: str = _some_text("what the item does (事项功能)")
    name: str = ""


@dataclass(frozen=True)
class Evaluation:
    """The managing office's evaluation (§7.1.2 b)."""

    approved: bool = choice("true or false")
    necessity: str = _some_text("the assessment of necessity (必要性)")
    feasibility: str = _some_text("the assessment of feasibility (可行性)")


@dataclass(frozen=True)
class VerificationRecord:
    """The verification test record (§7.1.2 d): the item's flow run end to end.

    ``run`` refers to the run that produced it (a flow engine run id, a report number);
    functional, performance and security verification must all pass.
    """

    run: str = _some_text("a reference to the test run")
    summary: str = _some_text("a summary of the test")
    functional: Literal["passed", "failed"] = choice('"passed" or "failed"')
    performance: Literal["passed", "failed"] = choice('"passed" or "failed"')
    security: Literal["passed", "failed"] = choice('"passed" or "failed"')

    @property
    def passed(self) -> bool:
        return self.functional == self.performance == self.security == "passed"


@dataclass(frozen=True)
class ChangeRequest:
    """One add / change / revoke of one item, from application to its final state."""

    id: int
    code: str
    kind: Kind
    state: State
    #: The version it publishes (add, change) or takes off the list (revoke).
    version: int
    application: Application
    evaluation: Optional[Evaluation] = None
    item: Optional[Item] = None
    record: Optional[VerificationRecord] = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True)
class AuditEntry:
    """One transition, as the audit keeps it (§8 e). Never personal data."""

    code: str
    action: str
    role: str
    request_id: Optional[int]
    from_state: str
    to_state: str
    version: int
    detail: Mapping[str, Any] = field(default_factory=dict)
    #: When it happened (seconds since the epoch); stamped by the registry as it is stored.
    at: float = 0.0


@dataclass(frozen=True)
class Ledger:
    """Everything the lifecycle knows. Treated as immutable: every change makes a new one."""

    published: Mapping[str, Item] = field(default_factory=dict)
    open: Mapping[str, ChangeRequest] = field(default_factory=dict)
    #: The highest version each code ever had published: a new version counts on from it.
    last_version: Mapping[str, int] = field(default_factory=dict)
    next_id: int = 1


@dataclass(frozen=True)
class Outcome:
    ledger: Ledger
    #: Request rows to insert or update.
    requests: Tuple[ChangeRequest, ...]
    audit: Tuple[AuditEntry, ...]


def _require(role: Role, action: Action) -> None:
    needed = REQUIRED_ROLE[action]
    if role is not needed:
        raise WrongRoleError(f"{action.value} needs the {needed.value} role, not {role.value}")


def _open_request(ledger: Ledger, code: str) -> ChangeRequest:
    request = ledger.open.get(code)
    if request is not None:
        return request
    if code in ledger.published:
        raise InvalidTransitionError(f"{code}: no change request is open for this item")
    raise UnknownItemError(f"no item {code} (neither published nor applied for)")


def _expect(request: ChangeRequest, action: Action, *states: State) -> None:
    if request.state not in states:
        wanted = " or ".join(s.value for s in states)
        raise InvalidTransitionError(
            f"{request.code}: {action.value} needs the {request.kind.value} request "
            f"(#{request.id}) to be {wanted}; it is {request.state.value}"
        )


def _advance(
    ledger: Ledger,
    request: ChangeRequest,
    *,
    action: Action,
    role: Role,
    new: ChangeRequest,
    detail: Mapping[str, Any],
    published: Optional[Mapping[str, Item]] = None,
) -> Outcome:
    """The outcome of moving ``request`` to ``new`` (closing it if ``new`` is final)."""
    still_open = {c: r for c, r in ledger.open.items() if c != request.code}
    if new.is_open:
        still_open[new.code] = new
    last_version = dict(ledger.last_version)
    if new.state is State.PUBLISHED:
        last_version[new.code] = max(new.version, last_version.get(new.code, 0))
    after = replace(
        ledger,
        open=still_open,
        published=ledger.published if published is None else published,
        last_version=last_version,
    )
    entry = AuditEntry(
        request.code,
        action.value,
        role.value,
        request.id,
        "" if request is new else request.state.value,
        new.state.value,
        new.version,
        detail,
    )
    return Outcome(after, (new,), (entry,))


def apply(ledger: Ledger, role: Role, kind: Kind, code: str, application: Application) -> Outcome:
    """The department applies to add, change or revoke ``code`` (§7.1.2 a)."""
    _require(role, Action.APPLY)
    current = ledger.open.get(code)
    if current is not None:
        raise InvalidTransitionError(
            f"{code}: the {current.kind.value} request #{current.id} is still open "
            f"({current.state.value}); one request per item at a time"
        )
    published = ledger.published.get(code)
    if kind is Kind.ADD:
        if published is not None:
            raise InvalidTransitionError(f"{code} is already published: apply for a change")
        if not application.name.strip():
            raise InvalidRequestError("application: name: required for a new item (事项名称)")
        if not valid_code(code):
            raise InvalidRequestError(f"{code!r}: expected {CODE_EXPECT}")
        version = ledger.last_version.get(code, 0) + 1
    else:
        if published is None:
            raise UnknownItemError(f"{code} is not published: nothing to {kind.value}")
        application = replace(application, name=application.name.strip() or published.name)
        version = published.version if kind is Kind.REVOKE else ledger.last_version[code] + 1
    request = ChangeRequest(ledger.next_id, code, kind, State.APPLIED, version, application)
    return _advance(
        replace(ledger, next_id=ledger.next_id + 1),
        request,
        action=Action.APPLY,
        role=role,
        new=request,
        detail={"kind": kind.value, **dataclasses.asdict(application)},
    )


def evaluate(ledger: Ledger, role: Role, code: str, evaluation: Evaluation) -> Outcome:
    """The managing office evaluates (§7.1.2 b); an approved revocation takes effect (f)."""
    _require(role, Action.EVALUATE)
    request = _open_request(ledger, code)
    _expect(request, Action.EVALUATE, State.APPLIED)
    published = None
    if not evaluation.approved:
        state = State.REJECTED
    elif request.kind is Kind.REVOKE:
        state = State.APPROVED
        published = {c: i for c, i in ledger.published.items() if c != code}
    else:
        state = State.EVALUATED
    new = replace(request, state=state, evaluation=evaluation)
    detail = dataclasses.asdict(evaluation)
    return _advance(
        ledger,
        request,
        action=Action.EVALUATE,
        role=role,
        new=new,
        detail=detail,
        published=published,
    )


def develop(ledger: Ledger, role: Role, code: str, item: Item) -> Outcome:
    """The developed item's definition is attached (§7.1.2 c); it may be replaced until verified."""
    _require(role, Action.DEVELOP)
    request = _open_request(ledger, code)
    _expect(request, Action.DEVELOP, State.EVALUATED, State.DEVELOPED)
    if item.code != code:
        raise InvalidRequestError(f"the item definition is for {item.code}, not {code}")
    draft = replace(item, version=request.version, state="draft")
    new = replace(request, state=State.DEVELOPED, item=draft, record=None)
    detail = {"item": item_document(draft)}
    return _advance(ledger, request, action=Action.DEVELOP, role=role, new=new, detail=detail)


def verify(ledger: Ledger, role: Role, code: str, record: VerificationRecord) -> Outcome:
    """The verification record is attached (§7.1.2 d); only a passing one moves the request on."""
    _require(role, Action.VERIFY)
    request = _open_request(ledger, code)
    _expect(request, Action.VERIFY, State.DEVELOPED)
    assert request.item is not None  # developed requests carry their item
    if record.passed:
        new = replace(
            request,
            state=State.VERIFIED,
            item=replace(request.item, state="verified"),
            record=record,
        )
    else:
        new = replace(request, record=record)
    detail = dataclasses.asdict(record)
    return _advance(ledger, request, action=Action.VERIFY, role=role, new=new, detail=detail)


def publish(ledger: Ledger, role: Role, code: str) -> Outcome:
    """The department confirms and the verified version goes live (§7.1.2 e)."""
    _require(role, Action.PUBLISH)
    request = _open_request(ledger, code)
    _expect(request, Action.PUBLISH, State.VERIFIED)
    assert request.item is not None  # verified requests carry their item
    item = replace(request.item, state="published")
    replaced = ledger.published.get(code)
    new = replace(request, state=State.PUBLISHED, item=item)
    detail = {"replaces": replaced.version if replaced is not None else None}
    published = {**ledger.published, code: item}
    return _advance(
        ledger,
        request,
        action=Action.PUBLISH,
        role=role,
        new=new,
        detail=detail,
        published=published,
    )


def sync(ledger: Ledger, role: Optional[Role], catalogue: Catalogue) -> Outcome:
    """The published list becomes ``catalogue`` (§7.1.2 f); open requests are superseded.

    ``role`` is ``None`` only for the daemon's own first catalogue.
    """
    if role is not None:
        _require(role, Action.SYNC)
    who = SYSTEM if role is None else role.value
    published = {item.code: replace(item, state="published") for item in catalogue.items}
    detail = {"source": catalogue.source}
    audit: List[AuditEntry] = []
    for code in sorted(set(published) | set(ledger.published)):
        before, after = ledger.published.get(code), published.get(code)
        if before == after:
            continue
        was = "" if before is None else "published"
        if after is not None:
            entry = AuditEntry(code, "sync", who, None, was, "published", after.version, detail)
        else:
            assert before is not None  # the code came from one of the two lists
            entry = AuditEntry(code, "sync", who, None, was, "removed", before.version, detail)
        audit.append(entry)
    superseded = tuple(replace(r, state=State.SUPERSEDED) for r in ledger.open.values())
    audit.extend(
        AuditEntry(r.code, "sync", who, r.id, r.state.value, "superseded", r.version, detail)
        for r in ledger.open.values()
    )
    last_version: Dict[str, int] = dict(ledger.last_version)
    for code, item in published.items():
        last_version[code] = max(item.version, last_version.get(code, 0))
    synced = replace(ledger, published=published, open={}, last_version=last_version)
    return Outcome(synced, superseded, tuple(audit))
