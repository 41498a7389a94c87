"""The HTTP adapter against the demo department service on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from govkiosk.backends.base import (
    BackendProtocolError,
    BackendRefusedError,
    BackendTimeoutError,
    BackendUnavailableError,
    DocumentRequest,
)
from govkiosk.backends.demo_data import ITEMS, PENSION_RECEIVED, item_names
from govkiosk.backends.http import HttpBackend
from govkiosk.security.seal import PadesScheme, SealVerifier
from harness.departments import RETIRED, YOUNG, KioskKey, Platform, platform
from harness.eventually import eventually


@pytest.fixture
def key(tmp_path: Path) -> KioskKey:
    return KioskKey(tmp_path / "kiosk")


@pytest.fixture
async def service(tmp_path: Path, key: KioskKey) -> AsyncIterator[Platform]:
    running = await platform(tmp_path / "seal", key)
    yield running
    await running.close()


def request(item: str, applicant=RETIRED, region: str = "230103") -> DocumentRequest:
    return DocumentRequest(item, region, applicant, "zh_CN", "consent-1")


def codes() -> dict:
    """Published name → the code the default catalogue gives it (the name until it has one)."""
    names = item_names()
    return {
        name: max((c for c, n in names.items() if n == name), key=lambda c: c != name)
        for name in ITEMS
    }


async def test_every_item_returns_a_sealed_pdf_that_verifies(
    service: Platform, key: KioskKey, tmp_path: Path
) -> None:
    verifier = SealVerifier(PadesScheme.from_files([str(tmp_path / "seal" / "ca.pem")]))
    backend = service.backend(key.signer())
    try:
        for name, code in codes().items():
            result = await backend.fetch_document(request(code))
            report = await verifier.verify_async(result.pdf)
            assert report.scheme == "pades"
            assert report.covers_whole_document
            assert report.signer in ("公安机关电子印章", "人力资源和社会保障电子印章"), name
            assert result.summary["证明编号"] == result.reference
            assert 1 <= result.pages <= 2
            assert "withheld" in repr(result)
            assert RETIRED.id_number not in repr(request(code)) + repr(result)
    finally:
        await backend.close()
    assert service.department.issued == len(ITEMS)


async def test_not_eligible_is_a_refusal_with_a_citizen_message(
    service: Platform, key: KioskKey
) -> None:
    backend = service.backend(key.signer())
    with pytest.raises(BackendRefusedError) as refused:
        await backend.fetch_document(request(codes()[PENSION_RECEIVED], YOUNG))
    await backend.close()
    assert refused.value.reason == "not_eligible"
    assert refused.value.message == "系统中未查询到您享受养老保险待遇的记录"
    assert refused.value.code == "backend.refused"
    assert service.department.requests == 1  # a refusal is never retried


async def test_a_bad_signature_is_refused_with_401(service: Platform, tmp_path: Path) -> None:
    stranger = KioskKey(tmp_path / "stranger")  # enrolled under no id, signs as ours
    backend = service.backend(stranger.signer())
    with pytest.raises(BackendRefusedError) as refused:
        await backend.fetch_document(request("无犯罪记录证明"))
    await backend.close()
    assert refused.value.reason == "unauthorised"
    assert service.department.issued == 0


async def test_an_unknown_key_id_is_refused(service: Platform, key: KioskKey) -> None:
    backend = service.backend(key.signer("kiosk-unknown"))
    with pytest.raises(BackendRefusedError):
        await backend.fetch_document(request("无犯罪记录证明"))
    await backend.close()


async def test_a_5xx_is_retried_and_issues_once(service: Platform, key: KioskKey) -> None:
    service.department.misbehaviour.fail_next = 1
    backend = service.backend(key.signer(), retries=2)
    result = await backend.fetch_document(request("户口本打印"))
    await backend.close()
    assert result.pages == 1
    assert (service.department.requests, service.department.issued) == (2, 1)


async def test_a_lost_answer_retried_returns_the_same_certificate(
    service: Platform, key: KioskKey
) -> None:
    service.department.misbehaviour.lose_next_answer = 1  # issued, then 503
    backend = service.backend(key.signer(), retries=1)
    result = await backend.fetch_document(request("无犯罪记录证明"))
    await backend.close()
    assert (service.department.requests, service.department.issued) == (2, 1)
    assert result.reference.startswith("GA230103")


async def test_two_requests_are_two_certificates(service: Platform, key: KioskKey) -> None:
    backend = service.backend(key.signer())
    first = await backend.fetch_document(request("无犯罪记录证明"))
    second = await backend.fetch_document(request("无犯罪记录证明"))
    await backend.close()
    assert first.reference != second.reference
    assert service.department.issued == 2


async def test_retries_stop_after_the_configured_count(service: Platform, key: KioskKey) -> None:
    service.department.misbehaviour.fail_next = 10
    backend = service.backend(key.signer(), retries=2)
    with pytest.raises(BackendUnavailableError) as failed:
        await backend.fetch_document(request("身份证打印"))
    await backend.close()
    assert failed.value.code == "backend.unavailable"
    assert service.department.requests == 3


async def test_a_timeout_retried_still_issues_one_certificate(
    service: Platform, key: KioskKey
) -> None:
    service.department.misbehaviour.delay = 0.6
    backend = service.backend(key.signer(), timeout=0.2, retries=1)
    with pytest.raises(BackendTimeoutError) as timed_out:
        await backend.fetch_document(request("社保清单打印"))
    await backend.close()
    assert timed_out.value.code == "backend.timeout"
    department = service.department
    await eventually(lambda: department.issued > 0 and not department.issuing, "issued")
    assert department.requests == 2
    assert department.issued == 1


async def test_an_unreachable_platform_is_unavailable(key: KioskKey) -> None:
    backend = HttpBackend("http://127.0.0.1:9", key.signer(), retries=0)
    with pytest.raises(BackendUnavailableError):
        await backend.fetch_document(request("身份证打印"))
    await backend.close()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"<html>not json</html>"),
        (200, b'{"reference": "R1", "pages": 1, "pdf": "bm90IGEgcGRm"}'),
        (200, b'{"reference": "R1", "pages": 0, "pdf": ""}'),
        (200, b"[1, 2]"),
        (404, b'{"message": "no code"}'),
        (302, b"{}"),
    ],
)
async def test_answers_that_cannot_be_understood(key: KioskKey, status: int, body: bytes) -> None:
    async def answer(_request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/documents", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    backend = HttpBackend(str(server.make_url("")), key.signer(), retries=2)
    try:
        with pytest.raises(BackendProtocolError):
            await backend.fetch_document(request("身份证打印"))
    finally:
        await backend.close()
        await server.close()


async def test_the_callers_idempotency_key_makes_a_second_call_a_replay(
    service: Platform, key: KioskKey
) -> None:
    backend = service.backend(key.signer())
    first = request("无犯罪记录证明")
    keyed = DocumentRequest(
        first.item_code,
        first.region,
        first.applicant,
        "zh_CN",
        "consent-1",
        idempotency_key="session-0123456789abcdef",
    )
    one = await backend.fetch_document(keyed)
    two = await backend.fetch_document(keyed)  # the citizen's retry after a lost answer
    await backend.close()
    assert one.reference == two.reference
    assert (service.department.requests, service.department.issued) == (2, 1)
