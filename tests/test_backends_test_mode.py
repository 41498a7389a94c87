"""The department protocol's test mode (backends/http.py) and the routes' test settings.

A route names its platform's published test identity (the ID number's check character
validated) or a health URL; each route's are its own, the section's belong to
``default_url``. Against the demo department service on loopback: a test request for the
published identity gets a specimen (测试样张, a ``TEST-`` reference) that still verifies
with the real seal verifier and is not counted as an issuance; a test request for anyone
else, a real request for the test identity and a test flag the header and the body
disagree on are refused; the health call answers 2xx.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import pytest

from govkiosk import demo_department
from govkiosk.backends.base import (
    Applicant,
    BackendRefusedError,
    BackendTimeoutError,
    BackendUnavailableError,
    DocumentRequest,
)
from govkiosk.backends.demo_data import TEST_APPLICANT
from govkiosk.backends.http import DOCUMENTS_PATH, HEALTH_PATH, TEST_HEADER, health
from govkiosk.backends.routing import Router
from govkiosk.backends.settings import BackendsSettings, Route
from govkiosk.config import load_config
from govkiosk.devices.idcard.cardtext import valid_id_number
from govkiosk.security.seal import PadesScheme, SealVerifier
from govkiosk.tables import ConfigError
from harness.departments import RETIRED, KioskKey, Platform, platform

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the kiosks' Python 3.8
    import tomli as tomllib

OTHER = Applicant("220102195801010017", "别人的测试身份")  # valid, never published


@pytest.fixture
def key(tmp_path: Path) -> KioskKey:
    return KioskKey(tmp_path / "kiosk")


@pytest.fixture
async def service(tmp_path: Path, key: KioskKey) -> AsyncIterator[Platform]:
    running = await platform(tmp_path / "seal", key)
    yield running
    await running.close()


def doc_request(applicant: Applicant = TEST_APPLICANT, test: bool = True) -> DocumentRequest:
    return DocumentRequest("id_card_print", "230100", applicant, "zh_CN", "TEST-1", test=test)


async def test_the_published_test_identity_gets_a_marked_specimen_that_verifies(
    service: Platform, key: KioskKey, tmp_path: Path
) -> None:
    backend = service.backend(key.signer())
    try:
        result = await backend.fetch_document(doc_request())
    finally:
        await backend.close()
    assert result.reference.startswith("TEST-")
    assert result.summary["证明编号"] == result.reference
    verifier = SealVerifier(PadesScheme.from_files([str(tmp_path / "seal" / "ca.pem")]))
    report = await verifier.verify_async(result.pdf)
    assert report.signer
    pdftotext = await asyncio.create_subprocess_exec(
        "pdftotext", "-", "-", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    text = (await asyncio.wait_for(pdftotext.communicate(result.pdf), 30))[0].decode("utf-8")
    assert "测试样张" in text  # in the title and across the page
    assert (service.department.tests, service.department.issued) == (1, 0)
    assert "test" in repr(doc_request())
    assert TEST_APPLICANT.id_number not in repr(doc_request())


async def test_test_requests_for_others_and_real_requests_for_the_test_identity_are_refused(
    service: Platform, key: KioskKey
) -> None:
    backend = service.backend(key.signer())
    try:
        with pytest.raises(BackendRefusedError) as other:
            await backend.fetch_document(doc_request(OTHER))
        assert other.value.reason == "test_identity_refused"
        assert "测试身份" in other.value.message
        with pytest.raises(BackendRefusedError) as citizen:
            await backend.fetch_document(doc_request(RETIRED))
        assert citizen.value.reason == "test_identity_refused"
        with pytest.raises(BackendRefusedError) as real:
            await backend.fetch_document(doc_request(test=False))
        assert real.value.reason == "test_identity"
        # a real applicant's real request is still served, and counted
        result = await backend.fetch_document(doc_request(RETIRED, test=False))
        assert not result.reference.startswith("TEST-")
    finally:
        await backend.close()
    assert (service.department.tests, service.department.issued) == (0, 1)


async def test_the_header_and_the_signed_body_must_agree(service: Platform, key: KioskKey) -> None:
    """The header alone does not make a test request, nor does dropping it hide one."""
    url = service.url + "/" + DOCUMENTS_PATH
    path = "/" + DOCUMENTS_PATH
    async with aiohttp.ClientSession() as http:
        for in_body, in_header in ((True, False), (False, True)):
            document = {
                "item_code": "id_card_print",
                "region": "230100",
                "applicant": {"id_number": TEST_APPLICANT.id_number, "name": TEST_APPLICANT.name},
                "test": in_body,
            }
            body = json.dumps(document).encode("utf-8")
            headers = key.signer().headers("POST", path, body)
            headers["Idempotency-Key"] = f"{in_body:d}{in_header:d}" * 8
            if in_header:
                headers[TEST_HEADER] = "1"
            async with http.post(url, data=body, headers=headers) as answer:
                assert answer.status == 422
                assert (await answer.json())["code"] == "bad_request"
    assert service.department.tests == 0


async def test_the_health_call(service: Platform) -> None:
    assert await health(f"{service.url}/{HEALTH_PATH}", 5.0) == 200
    with pytest.raises(BackendUnavailableError) as missing:
        await health(f"{service.url}/no-such-path", 5.0)
    assert "HTTP 404" in str(missing.value)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(BackendUnavailableError) as down:
        await health(f"http://127.0.0.1:{closed}/v1/health", 5.0)
    assert not isinstance(down.value, BackendTimeoutError)


def test_a_route_has_its_own_test_identity_and_the_section_its_default_platform() -> None:
    settings = BackendsSettings(
        default_url="https://hlj.example/api",
        test_id_number=TEST_APPLICANT.id_number,
        test_name=TEST_APPLICANT.name,
        routes=(
            Route(url="https://jl.example/api", region="22", health_url="https://jl.example/up"),
            Route(
                url="https://x.example/api",
                item="A2",
                test_id_number=OTHER.id_number,
                test_name=OTHER.name,
            ),
        ),
    )
    router = Router(settings, kiosk_id="k1", kiosk_region="230100")
    home = router.route_for("A1", "230100")
    assert (home.test_applicant, home.health_url) == (TEST_APPLICANT, "")
    jilin = router.route_for("A1", "220102")
    assert (jilin.test_applicant, jilin.health_url) == (None, "https://jl.example/up")
    assert router.route_for("A2", "230100").test_applicant == OTHER
    assert TEST_APPLICANT.id_number not in repr(home)


def test_test_settings_in_config(tmp_path: Path) -> None:
    path = tmp_path / "govkiosk.toml"
    path.write_text(
        '[kiosk]\nid = "k1"\n[backends]\ndefault_url = "https://hlj.example/api"\n'
        f'test_id_number = "{TEST_APPLICANT.id_number}"\ntest_name = "{TEST_APPLICANT.name}"\n'
        '[[backends.routes]]\nregion = "22"\nurl = "https://jl.example/api"\n'
        'health_url = "https://jl.example/api/v1/health"\n',
        encoding="utf-8",
    )
    backends = load_config(path).backends
    assert (backends.test_id_number, backends.test_name) == (
        TEST_APPLICANT.id_number,
        TEST_APPLICANT.name,
    )
    assert backends.routes[0].health_url == "https://jl.example/api/v1/health"
    wrong_check = TEST_APPLICANT.id_number[:17] + "9"
    path.write_text(
        f'[kiosk]\nid = "k1"\n[backends]\ntest_id_number = "{wrong_check}"\ntest_name = "x"\n'
        '[[backends.routes]]\nurl = "https://jl.example/api"\n'
        f'test_id_number = "{OTHER.id_number}"\n'
        '[[backends.routes]]\nurl = "https://x.example/api"\ntest_name = "x"\n'
        'health_url = "ftp://x"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as problems:
        load_config(path)
    assert sorted(p.key for p in problems.value.problems) == [
        "backends.routes.0.test_name",
        "backends.routes.1.health_url",
        "backends.test_id_number",
    ]


def test_the_demo_configures_its_department_s_test_identity(tmp_path: Path) -> None:
    """``make run``: govkioskctl check on the demo kiosk tests every item in full."""
    argv, dropin = demo_department.department(tmp_path, 8470)
    backends = tomllib.loads(dropin)["backends"]
    assert (backends["test_id_number"], backends["test_name"]) == (
        TEST_APPLICANT.id_number,
        TEST_APPLICANT.name,
    )
    assert valid_id_number(backends["test_id_number"])
    assert backends["health_url"] == f"http://127.0.0.1:8470/{HEALTH_PATH}"
    assert "--test-id-number" not in argv  # the service publishes the same one by default
