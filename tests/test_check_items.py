"""The item debugging checklist (事项调试检查表, §6.4.2) run end to end in test mode.

The whole kiosk (harness.kiosk: the daemon on a private bus, the demo department service
publishing its test identity, the receipt simulator, a private cupsd as the A4 queue):
``govkioskctl check``'s items stage has the daemon run every published item with the
department's test identity (fetch, seal, preview) through ``Session1.RunItemTest``. Every
item passes in full; a route with only a health URL passes as health only; a route with
neither is skipped with what to ask for; a route down and a test identity the department
does not know fail naming the fix; nothing is printed unless asked, and with
``--print-items`` each specimen is printed and confirmed by the engineer; no test is run beside
a citizen's session, and no session starts beside a test; and nothing of the test identity
or the specimen is left in the state directory or the logs.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence

import pytest
from dbus_next.errors import DBusError
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.backends.demo_data import TEST_APPLICANT
from govkiosk.cli import acceptance
from govkiosk.cli.check import FAIL, PASS, SKIP, Check, Options, item_check, run_checks
from govkiosk.contract.logs import WITHHELD
from govkiosk.contract.names import KIOSK_BUSY_ERROR, SESSION_ACTIVE_ERROR
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.kiosk import TEST_IDENTITY, Kiosk, kiosk

WAIT = 60.0
ITEMS = 7
#: Another valid ID number and name: a test identity this department never published.
UNKNOWN_TEST_IDENTITY = 'test_id_number = "220102195801010017"\ntest_name = "别人的测试身份"'


def options(k: Kiosk, bus: PrivateBus, **extra: object) -> Options:
    return Options(
        config=k.daemon.config_path,
        state_dir=k.state_dir,
        bus=bus.address,
        stages=("items",),
        operator="张工",
        **extra,  # type: ignore[arg-type]
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def by_code(checks: Sequence[Check]) -> Dict[str, Check]:
    return {c.name.split()[0]: c for c in checks if c.stage == "items"}


def route(item: str, url: str, lines: str = "") -> str:
    return f'\n[[backends.routes]]\nitem = "{item}"\nurl = "{url}"\n{lines}\n'


#: Marks of the specimen's bytes: the demo department's PDF creator, a sealed PDF's signature.
SPECIMEN_BYTES = (b"govkiosk demo department service", b"/ByteRange")


def needles() -> List[bytes]:
    """The test identity in every encoding a component might write it in, and the
    specimen's bytes."""
    found = set(SPECIMEN_BYTES)
    for term in (TEST_APPLICANT.id_number, TEST_APPLICANT.name):
        for encoding in ("utf-8", "gb18030", "utf-16-be", "utf-16-le"):
            found.add(term.encode(encoding))
    return sorted(found)


def written(roots: Sequence[Path], since: float) -> List[Path]:
    paths = []
    for root in roots:
        for directory, _dirs, names in os.walk(root):
            for name in names:
                path = Path(directory) / name
                try:
                    if path.is_file() and path.stat().st_mtime >= since:
                        paths.append(path)
                except OSError:
                    continue  # another process's temporary file, gone
    return paths


def elsewhere(path: Path, tmp_path: Path) -> bool:
    """A file of another test run on this machine: its pytest directory, or its own cupsd's
    (``govkiosk-cups-*``); this test's kiosk writes in neither."""
    others = tmp_path.parents[1]  # every pytest run's directories, this one's among them
    if others in path.parents and tmp_path not in path.parents:
        return True
    return any(part.startswith("govkiosk-cups-") for part in path.parts)


async def test_every_item_passes_the_full_test_and_nothing_is_printed_or_kept(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    started = time.time() - 1
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd) as k:
        receipts, a4 = len(k.printer.receipts), len(cupsd.captured())
        info, checks = await run_checks(options(k, private_bus))
        assert len(k.printer.receipts) == receipts  # nothing printed: not asked
        assert len(cupsd.captured()) == a4
        assert (k.department.tests, k.department.issued) == (ITEMS, 0)  # specimens only
        # the citizen's slot is free again: a session starts at once
        sid = await k.session.call_start_session("id_card_print", "zh_CN")
        await k.session.call_cancel(sid)
        now = datetime.datetime.now(datetime.timezone.utc)
        report = acceptance.build(info, checks, ("items",), "张工", now)
        kept = acceptance.keep(report, k.state_dir, k.daemon.config_path)
    rows = by_code(checks)
    assert len(rows) == ITEMS
    for code, check in rows.items():
        assert check.status == PASS, f"{code}: {check.detail} / {check.fix}"
        assert check.mode == "full"
        assert check.reference.startswith("TEST-")
        assert check.detail.startswith("fetch+seal+preview: route http://127.0.0.1:")
        assert "seal verified (" in check.detail
        assert "printed" not in check.detail
    # the report (JSON and the PDF's 事项调试检查表) says how each item was tested, and its reference
    items = [c for c in report["checks"] if c["stage"] == "items"]
    assert [(c["mode"], c["reference"]) for c in items] == [(c.mode, c.reference) for c in checks]
    pdf = await pdftotext(next(p for p in kept if p.suffix == ".pdf").read_bytes())
    assert "事项调试检查表" in pdf
    assert "全流程测试" in pdf
    assert "调试中未打印任何材料" in pdf
    # the answer carried no document content; nothing of the test identity or the specimen
    # is in the state directory (database, report), the daemon's log or cupsd's logs
    # (the configuration the engineer wrote holds the test identity: it is not scanned)
    scanned = [*written([k.state_dir, cupsd.root], started), k.log]
    scanned += [
        p
        for p in written([Path(tempfile.gettempdir())], started)
        if tmp_path not in p.parents and cupsd.root not in p.parents and not elsewhere(p, tmp_path)
    ]
    patterns = needles()
    read = 0
    for path in set(scanned):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        read += 1
        leaked = [p for p in patterns if p in data]
        assert not leaked, f"{path} holds the test identity or the specimen: {leaked}"
    assert read >= 4  # the log, the database, the report's JSON, PDF and signature at least
    log = k.log.read_text(encoding="utf-8")
    assert "item test no_criminal_record: full passed" in log
    assert WITHHELD not in log  # nothing even tried to log the test identity


async def test_each_route_is_tested_as_far_as_its_platform_allows(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    """Health only, neither, down, a test identity the platform refuses, a health call down."""
    down = f"http://127.0.0.1:{closed_port()}/api"
    routes = "".join(
        (
            route("id_card_print", "{platform}", 'health_url = "{platform}/v1/health"'),
            route("no_criminal_record", "{platform}", UNKNOWN_TEST_IDENTITY),
            route("household_register_print", down, TEST_IDENTITY),
            route("pension_benefit_proof", down, f'health_url = "{down}/v1/health"'),
            route("social_insurance_statement", down),
        )
    )
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd, routes=routes) as k:
        receipts, a4 = len(k.printer.receipts), len(cupsd.captured())
        _info, checks = await run_checks(options(k, private_bus))
        assert (len(k.printer.receipts), len(cupsd.captured())) == (receipts, a4)
        assert k.department.issued == 0
    rows = by_code(checks)
    assert len(rows) == ITEMS

    health = rows["id_card_print"]
    assert (health.status, health.mode, health.reference) == (PASS, "health", "")
    assert health.detail.startswith("health only: route http://127.0.0.1:")
    assert "HTTP 200" in health.detail

    refused = rows["no_criminal_record"]
    assert (refused.status, refused.mode) == (FAIL, "full")
    assert "测试请求仅受理本部门公布的测试身份" in refused.detail  # the department's own words
    assert "test_id_number" in refused.fix
    assert "test_name" in refused.fix

    unreachable = rows["household_register_print"]
    assert (unreachable.status, unreachable.mode) == (FAIL, "full")
    assert "failed at fetch" in unreachable.detail
    assert down in unreachable.detail
    assert "down or unreachable" in unreachable.fix
    assert "household_register_print" in unreachable.fix

    health_down = rows["pension_benefit_proof"]
    assert (health_down.status, health_down.mode) == (FAIL, "health")
    assert "failed at health" in health_down.detail
    assert "health_url" in health_down.fix

    neither = rows["social_insurance_statement"]
    assert (neither.status, neither.mode) == (SKIP, "none")
    assert "neither a test identity nor a health URL" in neither.detail
    assert neither.fix.startswith("ask the department for a test identity or a health URL")

    # the items no route names go to the default platform, whose test identity is configured
    for code in ("contribution_record_print", "pension_insurance_certificate"):
        assert (rows[code].status, rows[code].mode) == (PASS, "full")


async def test_a_test_prints_only_when_asked_and_never_beside_a_citizen(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd) as k:
        receipts, a4 = len(k.printer.receipts), len(cupsd.captured())
        answer = {
            key: value.value
            for key, value in (await k.session.call_run_item_test("id_card_print", True)).items()
        }
        assert answer["passed"]
        assert answer["printed"]
        assert len(k.printer.receipts) == receipts + 1  # the slip
        await asyncio.get_running_loop().run_in_executor(None, lambda: cupsd_wait(cupsd, a4 + 1))
        specimen = cupsd.captured()[-1]
        text = await pdftotext(specimen)
        assert "测试样张" in text  # the specimen says what it is
        assert answer["reference"] in text
        # no document content in the answer: facts only
        assert set(answer) == {
            "code", "mode", "passed", "route", "reference", "pages", "seal_verified",
            "seal_issuer", "printed", "health_status", "failed_at", "error_code", "detail",
            "duration",
        }  # fmt: skip

        # a citizen is being served: the test is refused and the session is untouched
        sid = await k.session.call_start_session("id_card_print", "zh_CN")
        with pytest.raises(DBusError) as busy:
            await k.session.call_run_item_test("id_card_print", False)
        assert busy.value.type == KIOSK_BUSY_ERROR
        _info, checks = await run_checks(options(k, private_bus))
        assert {c.status for c in checks} == {FAIL}
        assert all("citizen is being served" in c.fix for c in checks)
        assert (await k.state())["session_id"] == sid
        await k.session.call_cancel(sid)
        await k.ended()

        # a test is running (the department slowed down): no citizen's session starts
        k.department.misbehaviour.delay = 0.5
        running = asyncio.ensure_future(k.session.call_run_item_test("id_card_print", False))
        await eventually(lambda: k.department.issuing > 0, "the test reaches the department")
        with pytest.raises(DBusError) as refused:
            await k.session.call_start_session("id_card_print", "zh_CN")
        assert refused.value.type == SESSION_ACTIVE_ERROR
        finished = await asyncio.wait_for(running, WAIT)
        assert finished["passed"].value
        assert len(k.printer.receipts) == receipts + 1  # asked once only
        sid = await k.session.call_start_session("id_card_print", "zh_CN")
        await k.session.call_cancel(sid)
        await k.ended()

        # a specimen whose seal does not verify fails the test at the seal, naming [seal]
        k.department.misbehaviour.delay = 0.0
        k.department.misbehaviour.tampered = True
        tampered = await k.session.call_run_item_test("household_register_print", False)
        answer = {key: value.value for key, value in tampered.items()}
    assert (answer["passed"], answer["failed_at"]) == (False, "seal")
    assert answer["error_code"].startswith("seal.")
    assert not answer["seal_verified"]
    row = item_check("household_register_print 户口本打印", answer)
    assert row.status == FAIL
    assert "[seal] trusted" in row.fix


def cupsd_wait(cupsd: CupsServer, count: int) -> None:
    deadline = time.monotonic() + WAIT
    while len(cupsd.captured()) < count:
        assert time.monotonic() < deadline, "the specimen never reached the A4 queue"
        time.sleep(0.05)


async def pdftotext(pdf: bytes) -> str:
    proc = await asyncio.create_subprocess_exec(
        "pdftotext", "-layout", "-", "-",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    return (await asyncio.wait_for(proc.communicate(pdf), WAIT))[0].decode("utf-8")


ANSWER_VALUES = st.one_of(
    st.text(max_size=40), st.integers(), st.floats(), st.booleans(), st.none()
)


ANSWER_KEYS = (
    "code", "mode", "passed", "route", "reference", "pages", "seal_issuer", "printed",
    "health_status", "failed_at", "error_code", "detail", "duration",
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(ANSWER_KEYS), ANSWER_VALUES))
def test_any_answer_becomes_one_row_of_the_checklist(answer: Dict[str, object]) -> None:
    check = item_check("x 事项", answer)
    assert check.stage == "items"
    assert check.status in (PASS, FAIL, SKIP)
    assert check.status != FAIL or check.fix  # a failure always says what to do
    assert check.status != PASS or answer.get("passed")


async def test_print_items_prints_each_specimen_and_the_operator_confirms_each(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    asked: List[str] = []

    def confirm(question: str) -> bool:
        asked.append(question)
        return "id_card_print" not in question  # the engineer saw a fault in this one

    async with kiosk(tmp_path / "kiosk", private_bus, cupsd) as k:
        receipts, a4 = len(k.printer.receipts), len(cupsd.captured())
        _info, checks = await run_checks(options(k, private_bus, print_items=True, confirm=confirm))
        assert len(k.printer.receipts) == receipts + ITEMS
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: cupsd_wait(cupsd, a4 + ITEMS)
        )
    assert len(asked) == ITEMS
    rows = by_code(checks)
    faulty = rows.pop("id_card_print")
    assert faulty.status == FAIL
    assert "the operator saw a fault" in faulty.detail
    assert "printer" in faulty.fix
    for check in rows.values():
        assert check.status == PASS
        assert check.detail.endswith("test certificate printed (confirmed by the operator)")
