"""The OFD certificate journey against the whole kiosk (harness.kiosk): the demo department
issues 居民户口簿电子证照 as an OFD sealed with a GB/T 38540 SM2 seal; the kiosk verifies
it, previews it and prints it through a real private cupsd as a PDF of its pages.

Also: every way of tampering with the sealed OFD is refused at verify_seal with its
reason and an alarm, never shown or printed; and nothing of the citizen — names, ID
numbers, the OFD, its page images — is left in the state directory, the logs, CUPS's
directories or the temp directory afterwards (§8 d).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import List, Set

import cv2
import numpy as np
import pytest

from govkiosk.backends.demo_ofd import TAMPERS
from govkiosk.bus import Alarm
from govkiosk.contract.logs import WITHHELD
from govkiosk.session.state import SessionEnded
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import Kiosk, kiosk
from harness.kivy_ui import demo_catalogue
from harness.personal import IMAGES, needles, written_files

ITEM = "household_register_ofd"
#: What an OFD package or its pages look like on disk: the ZIP entry of its root file.
OFD_MARKERS = (re.compile(re.escape(b"OFD.xml")), re.compile(re.escape(b"Doc_0/Pages")))


async def to_verified(k: Kiosk, terms: Set[str]) -> str:
    """Sync the demo items, start the OFD item, present a card, confirm and agree."""
    await k.items.call_sync("office", demo_catalogue(), "demo-items.toml")
    sid: str = await k.session.call_start_session(ITEM, "zh_CN")
    await k.until(step="identity", state="waiting")
    identity = await k.card()
    terms.update({identity.name, identity.id_number, identity.address})
    await k.until(step="identity", choices=["confirm", "cancel"])
    await k.session.call_choose(sid, "confirm")
    await k.until(step="consent", state="waiting")
    await k.session.call_choose(sid, "agree")
    return sid


def decode(png: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def red_pixels(image: np.ndarray) -> int:
    """Pixels of seal red (BGR): strong red, little green and blue."""
    b, g, r = (image[..., i].astype(int) for i in range(3))
    return int(((r > 150) & (g < 110) & (b < 110)).sum())


def ink(image: np.ndarray) -> float:
    """The share of dark pixels: text and rules."""
    return float((image.max(axis=2) < 110).mean())


def pdf_pages(pdf: bytes, tmp_path: Path) -> List[np.ndarray]:
    """The printed PDF's pages as images (poppler), written only under tmp_path."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "printed.pdf"
    source.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(source)], capture_output=True, text=True, check=True)
    count = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE).group(1))  # type: ignore[union-attr]
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info.stdout, re.MULTILINE)
    assert size is not None
    assert abs(float(size.group(1)) - 595.3) < 1.5  # A4 portrait, as the OFD's 210 x 297 mm
    assert abs(float(size.group(2)) - 841.9) < 1.5
    pages = []
    for n in range(1, count + 1):
        out = tmp_path / f"printed-{n}"
        pick = ["-f", str(n), "-l", str(n)]
        subprocess.run(
            ["pdftocairo", "-png", "-singlefile", "-r", "40", *pick, str(source), str(out)],
            check=True,
        )
        pages.append(cv2.imread(f"{out}.png"))
    return pages


@pytest.mark.timeout(120)
async def test_the_ofd_item_is_verified_previewed_and_printed_as_pdf(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.time() - 1
    terms: Set[str] = set()
    # The kiosk's temp directory is one of its own, searched for anything at all; the
    # shared one is searched for the citizen (other programs write pictures there).
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd) as k:
        sid = await to_verified(k, terms)
        state = await k.until(step="preview", state="waiting")
        assert state["seal_verified"] is True
        assert state["seal_issuer"] == "公安机关电子印章"  # the SES seal's name
        assert state["pages"] == 2
        previews = [decode(await k.session.call_get_preview(sid, n)) for n in range(2)]
        for page in previews:
            height, width = page.shape[:2]
            assert abs(height / width - 297 / 210) < 0.02
            assert 0.005 < ink(page) < 0.3  # text and the table's rules on white
        # The seal's picture sits on the last page, where the issuing authority signs.
        assert red_pixels(previews[1]) > 200
        assert red_pixels(previews[0]) < 20
        await k.session.call_choose(sid, "print")
        await k.until(step="done", state="done")
        await k.session.call_choose(sid, "finish")
        await k.ended()
        printed = cupsd.captured()
        assert len(printed) == 1
        assert printed[0].startswith(b"%PDF")
        assert b"OFD.xml" not in printed[0]
        ended = [e for e in k.events if isinstance(e, SessionEnded)][-1]
        assert (ended.item_code, ended.outcome) == (ITEM, "done")
        assert not [e for e in k.events if isinstance(e, Alarm) and e.source == "seal"]
        assert list((cupsd.root / "spool").glob("d*")) == []  # purged after printing
    pages = pdf_pages(printed[0], tmp_path / "out")
    assert len(pages) == 2
    assert red_pixels(pages[1]) > 50
    assert all(0.004 < ink(page) < 0.3 for page in pages)  # at 40 dpi thin rules fade
    # §8 d: nothing of the citizen, the OFD or its pages left behind.
    monkeypatch.undo()
    patterns = needles(terms)
    department = tmp_path / "kiosk" / "seal"  # the department's seal keys and pictures
    ours = [tmp_path / "kiosk", private_tmp, cupsd.root]
    scanned = 0
    for path in set(written_files(ours, started, cupsd.capture_dir)):
        if department in path.parents:
            continue
        data = path.read_bytes()
        scanned += 1
        assert not [p for p in patterns if p in data], f"{path} holds personal data"
        found = [m.pattern for m in (*IMAGES, *OFD_MARKERS) if m.search(data)]
        assert not found, f"{path} holds image or OFD data: {found}"
    assert scanned > 3  # the log, the database, cupsd's logs at least
    for path in set(written_files([Path(tempfile.gettempdir())], started, cupsd.capture_dir)):
        try:
            data = path.read_bytes()
        except OSError:
            continue  # another program's file, gone or unreadable
        assert not [p for p in patterns if p in data], f"{path} holds personal data"
    log = k.log.read_text(encoding="utf-8")
    assert ITEM in log
    assert WITHHELD not in log


REFUSALS = [(how, "seal.tampered") for how in TAMPERS] + [
    ("unsigned", "seal.unsigned"),
    ("untrusted", "seal.untrusted"),
]


@pytest.mark.timeout(180)
async def test_every_tampered_ofd_is_refused_with_its_reason_and_alarmed(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    terms: Set[str] = set()
    reasons = {}
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        mis = k.department.misbehaviour
        for how, code in REFUSALS:
            mis.tampered = how in TAMPERS
            mis.ofd_tamper = how if how in TAMPERS else "content"
            mis.unsigned, mis.untrusted = how == "unsigned", how == "untrusted"
            sid = await to_verified(k, terms)
            state = await k.until(state="failed")
            assert state["step"] == "verify_seal", how
            assert (state["error_code"], state["choices"]) == (code, ["finish"]), how
            assert "电子印章" in state["message"]
            assert state["seal_verified"] is False
            await k.session.call_choose(sid, "finish")
            await k.ended()
            alarm = [e for e in k.events if isinstance(e, Alarm) and e.source == "seal"][-1]
            assert alarm.code == code
            reasons[how] = alarm.message
        assert cupsd.captured() == []
    alarms = [e for e in k.events if isinstance(e, Alarm) and e.source == "seal"]
    assert [a.code for a in alarms] == [code for _, code in REFUSALS]
    # Each reason names what failed, for ops; none names the citizen.
    assert "Content.xml changed after sealing" in reasons["content"]
    assert "was added" in reasons["added"]
    assert "Seal.esl was removed" in reasons["removed"]
    assert "signature value does not verify" in reasons["signed_value"]
    assert "Seal.esl changed after sealing" in reasons["seal_swapped"]
    assert "Signature.xml changed" in reasons["signature_xml"]
    assert "no electronic seal" in reasons["unsigned"]
    assert "not a trusted seal authority" in reasons["untrusted"]
    for message in reasons.values():
        assert not [t for t in terms if t and t in message]
