"""``govkioskctl check``'s device checks against the whole harness kiosk (the daemon on a
private bus, the simulated card reader, a real cupsd, the Megatec UPS simulator): the A4
test page, a card read and the UPS self-test pass on a healthy kiosk; paper out in CUPS
fails the A4 page naming the fix; a reader that does not work fails the card read; a card
read says nothing of the card; nothing is checked while a citizen is served."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path
from typing import AsyncIterator, Dict, List, Tuple

from govkiosk.cli.check import FAIL, PASS, SKIP, Check, Options, run_checks
from govkiosk.devices.idcard.cardcheck import CardTestWaiting
from govkiosk.devices.idcard.events import ReaderState, ReaderStateChanged
from govkiosk.devices.idcard.protocol import Status
from govkiosk.devices.idcard.synthetic import resident
from govkiosk.devices.simhost import serve_tcp
from govkiosk.devices.ups.sim import MegatecSimulator, UpsModel
from govkiosk.devices.ups.state import UpsStateChanged
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.events import next_matching
from harness.eventually import eventually
from harness.kiosk import SIMULATED_FACES, Kiosk, card_photo, kiosk
from harness.nut import NutServer

WAIT = 30.0

UPS = """
[ups]
poll_interval = 0.05
timeout = 0.5
self_test_poll = 0.05
self_test_timeout = 10
dry_run = true

[[devices.static]]
role = "ups"
port = "socket://127.0.0.1:{port}"
"""


@contextlib.asynccontextmanager
async def ups_kiosk(
    directory: Path, bus: PrivateBus, cups: CupsServer
) -> AsyncIterator[Tuple[Kiosk, UpsModel]]:
    """The harness kiosk with a Megatec UPS whose test lasts half a second."""
    model = UpsModel(test_seconds=0.5)
    server = await serve_tcp(lambda: MegatecSimulator(model), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with kiosk(directory, bus, cups, face=SIMULATED_FACES + UPS.format(port=port)) as k:
            await eventually(
                lambda: any(isinstance(e, UpsStateChanged) and e.state.on_line for e in k.events),
                "the UPS read",
                WAIT,
            )
            yield k, model
    finally:
        server.close()


def options(k: Kiosk, bus: PrivateBus, **changes: object) -> Options:
    base = Options(
        config=k.daemon.config_path,
        state_dir=k.state_dir,
        bus=bus.address,
        stages=("devices",),
        operator="张工",
        say=lambda _text: None,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def by_name(checks: List[Check]) -> Dict[str, Check]:
    return {c.name: c for c in checks}


def place_card_when_asked(k: Kiosk) -> asyncio.Future[None]:
    """Place a fresh synthetic card once the daemon waits for it (as the engineer does
    after reading the prompt)."""

    async def place() -> None:
        with k.daemon.bus.stream(CardTestWaiting) as waiting:
            await asyncio.wait_for(waiting.get(), WAIT)
            k.reader.place(dataclasses.replace(resident(k.rng), photo=card_photo()))

    return asyncio.ensure_future(place())


async def test_a4_page_card_read_and_ups_test_pass_on_a_healthy_kiosk(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with ups_kiosk(tmp_path / "kiosk", private_bus, cupsd) as (k, _model):
        placed = place_card_when_asked(k)
        asked: List[str] = []
        _info, checks = await run_checks(
            options(
                k,
                private_bus,
                print_test=True,
                card_test=True,
                card_timeout=WAIT,
                confirm=lambda question: asked.append(question) or True,
            )
        )
        await placed
        jobs = cupsd.captured()
        log = k.log.read_text(encoding="utf-8")
    found = by_name(checks)
    assert found["A4 test page"].status == PASS, found["A4 test page"]
    assert "confirmed by the operator" in found["A4 test page"].detail
    assert any("grey scale" in q for q in asked)  # the operator judged the page
    assert found["test receipt"].status == PASS
    card = found["card read"]
    assert card.status == PASS, card
    assert card.detail.endswith(": card read; all fields present; photo decoded")
    ups = found["UPS self-test"]
    assert ups.status == PASS, ups
    assert "10-second battery test done" in ups.detail
    assert {c.status for c in checks} <= {PASS, SKIP}
    # the page went through CUPS: one PDF with the title, the kiosk id, and no one's data
    [page] = jobs
    assert page.startswith(b"%PDF")
    pdftotext = await asyncio.create_subprocess_exec(
        "pdftotext", "-", "-", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    text = (await asyncio.wait_for(pdftotext.communicate(page), WAIT))[0].decode("utf-8")
    assert "测试页" in text
    assert "test-hlj-0001" in text
    assert "灰度" in text
    # nothing of the card reached the report or the log (§8 d)
    placed_card = k.reader.card
    assert placed_card is not None
    fields = placed_card.fields()
    values = [fields[k] for k in ("name", "address", "id_number", "birth_date", "authority")]
    report_text = " ".join(f"{c.detail} {c.fix}" for c in checks)
    for value in values:
        assert value not in report_text
        assert value not in log


async def test_paper_out_in_cups_fails_the_a4_page_naming_the_fix(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd) as k:
        cupsd.fail()  # the backend reports media-empty-error and stops the queue
        _info, checks = await run_checks(options(k, private_bus, print_test=True))
        stopped = cupsd.printer_state()
        remaining = cupsd.connect().getJobs()
    page = by_name(checks)["A4 test page"]
    assert page.status == FAIL
    assert "printer.paper_out" in page.detail
    assert "load A4 paper" in page.fix
    assert f"cupsenable {cupsd.queue}" in page.fix
    assert stopped["printer-state-reasons"] != ["none"]
    assert remaining == {}  # the test page will not come out later, when paper is back


async def test_a_reader_that_does_not_work_fails_the_card_read(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd) as k:
        with k.daemon.bus.stream(ReaderStateChanged) as states:
            k.reader.sam_status = int(Status.SAM_SELF_TEST_FAILED)
            await next_matching(states, lambda e: e.state is not ReaderState.OK, WAIT)
        _info, checks = await run_checks(options(k, private_bus, card_test=True, card_timeout=2))
    card = by_name(checks)["card read"]
    assert card.status == FAIL
    assert "no ID card reader works" in card.detail
    assert "connect the ID card reader" in card.fix


async def test_no_card_placed_fails_the_card_read_in_time(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd) as k:
        _info, checks = await run_checks(options(k, private_bus, card_test=True, card_timeout=1))
    card = by_name(checks)["card read"]
    assert card.status == FAIL
    assert "no card was read within 1 s" in card.detail


async def test_checks_are_refused_while_a_citizen_is_served(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd) as k:
        session_id = await k.session.call_start_session("id_card_print", "zh_CN")
        await k.until(step="identity")
        _info, checks = await run_checks(
            options(k, private_bus, card_test=True, card_timeout=2, print_test=True)
        )
        await k.session.call_cancel(session_id)
        jobs = cupsd.captured()
    found = by_name(checks)
    for name in ("card read", "A4 test page"):
        assert found[name].status == FAIL
        assert "a citizen is being served" in found[name].detail
    assert jobs == []


async def test_a_nut_ups_whose_driver_offers_no_battery_test_fails_naming_it(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, nut: NutServer
) -> None:
    secret = tmp_path / "nut-password"
    secret.write_text(nut.password + "\n", encoding="utf-8")
    lines = (
        f'\n[ups]\nuser = "{nut.user}"\npassword_file = "{secret}"\npoll_interval = 0.2\n'
        f'dry_run = true\n\n[[devices.static]]\nrole = "ups"\nport = "{nut.url}"\n'
    )
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd, face=SIMULATED_FACES + lines) as k:
        await eventually(
            lambda: any(isinstance(e, UpsStateChanged) and e.state.on_line for e in k.events),
            "the UPS read through upsd",
            WAIT,
        )
        _info, checks = await run_checks(options(k, private_bus))
        skipped = (await run_checks(options(k, private_bus, ups_test=False)))[1]
    test = by_name(checks)["UPS self-test"]
    # dummy-ups registers no instant command: upsd refuses test.battery.start.quick
    assert test.status == FAIL
    assert "does not offer test.battery.start.quick" in test.detail
    assert "CMD-NOT-SUPPORTED" in test.detail
    assert "instcmds" in test.fix
    assert nut.password not in test.detail + test.fix
    assert by_name(checks)["UPS reading"].status == PASS
    assert by_name(skipped)["UPS self-test"].status == SKIP
