"""Change requests and audit entries as JSON-ready documents (SQLite, D-Bus, the CLI)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, Mapping

from .catalogue import item_document, item_from_document
from .lifecycle import (
    Application,
    AuditEntry,
    ChangeRequest,
    Evaluation,
    Kind,
    State,
    VerificationRecord,
)
from .typed import build_request


def request_summary(request: ChangeRequest) -> Dict[str, Any]:
    """Where a change request stands: what a transition answers (D-Bus, ops)."""
    return {
        "id": request.id,
        "code": request.code,
        "kind": request.kind.value,
        "state": request.state.value,
        "version": request.version,
    }


def request_document(request: ChangeRequest) -> Dict[str, Any]:
    return {
        **request_summary(request),
        "application": dataclasses.asdict(request.application),
        "evaluation": _optional(request.evaluation),
        "item": None if request.item is None else item_document(request.item),
        "record": _optional(request.record),
    }


def request_from_document(document: Mapping[str, Any]) -> ChangeRequest:
    """The inverse of :func:`request_document`; checked field by field as it is built."""
    item = document.get("item")
    evaluation = document.get("evaluation")
    record = document.get("record")
    return ChangeRequest(
        id=int(document["id"]),
        code=str(document["code"]),
        kind=Kind(document["kind"]),
        state=State(document["state"]),
        version=int(document["version"]),
        application=build_request(Application, document["application"], "application"),
        evaluation=None
        if evaluation is None
        else build_request(Evaluation, evaluation, "evaluation"),
        item=None if item is None else item_from_document(item, "request"),
        record=None if record is None else build_request(VerificationRecord, record, "record"),
    )


def audit_document(entry: AuditEntry) -> Dict[str, Any]:
    document = dataclasses.asdict(entry)
    document["detail"] = dict(entry.detail)
    return document


def detail_json(entry: AuditEntry) -> str:
    return json.dumps(dict(entry.detail), ensure_ascii=False, sort_keys=True)


def _optional(value: Any) -> Any:
    return None if value is None else dataclasses.asdict(value)
