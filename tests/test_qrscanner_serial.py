"""Serial scanners: line framing, text decoding, and the driver against its simulator."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.bus import Event, EventBus
from govkiosk.devices.lines import LineFramer, LineTooLong
from govkiosk.devices.qrscanner.driver import EvdevScanner, SerialScanner, scanner_for
from govkiosk.devices.qrscanner.errors import UndecodableScanError
from govkiosk.devices.qrscanner.events import CodeScanned, ScanFailed
from govkiosk.devices.qrscanner.settings import QrScannerSettings
from govkiosk.devices.qrscanner.sim import ScannerSimulator
from govkiosk.devices.qrscanner.text import decode_code
from govkiosk.devices.simhost import serve_pty
from govkiosk.devices.spec import DeviceSpec

# Synthetic codes only.
HEALTH_CODE = "https://hc.example.invalid/v?c=TEST0001"
CHINESE = "测试码-居住证-TEST"


@pytest.mark.parametrize(
    ("terminator", "data", "lines"),
    [
        ("any", b"a\rb\nc\r\nd", [b"a", b"b", b"c"]),
        ("cr", b"a\rb\nc\r", [b"a", b"b\nc"]),
        ("lf", b"a\nb\r\n", [b"a", b"b\r"]),
        ("crlf", b"a\r\nb\rc\r\n", [b"a", b"b\rc"]),
    ],
)
def test_terminators(terminator: str, data: bytes, lines: List[bytes]) -> None:
    assert LineFramer(terminator).feed(data) == lines


def test_crlf_split_across_reads_is_one_terminator() -> None:
    framer = LineFramer("any")
    assert framer.feed(b"abc\r") == [b"abc"]
    assert framer.feed(b"\ndef\r\n") == [b"def"]


def test_an_over_long_line_is_dropped_up_to_its_terminator() -> None:
    framer = LineFramer("any", max_length=8)
    assert framer.feed(b"0123456789") == []
    assert framer.feed(b"abcdef\nok\n") == [LineTooLong(16), b"ok"]


@pytest.mark.fuzz
@given(st.binary(max_size=400), st.sampled_from(["any", "cr", "lf", "crlf"]), st.integers(1, 50))
def test_fuzz_framer_bounds_lines(data: bytes, terminator: str, chunk: int) -> None:
    framer = LineFramer(terminator, max_length=32)
    for i in range(0, len(data), chunk):
        for line in framer.feed(data[i : i + chunk]):
            assert isinstance(line, LineTooLong) or 0 < len(line) <= 32


def test_text_is_utf8_then_gb18030_else_refused_without_echo() -> None:
    assert decode_code(CHINESE.encode()) == CHINESE
    assert decode_code(CHINESE.encode("gb18030")) == CHINESE
    with pytest.raises(UndecodableScanError, match="4-byte code") as caught:
        decode_code(b"\xff\xfe\x80\xff")
    assert "\\x" not in str(caught.value)


@pytest.mark.fuzz
@given(st.binary(max_size=100))
def test_fuzz_decode_code_raises_only_its_own_error(data: bytes) -> None:
    with contextlib.suppress(UndecodableScanError):
        assert isinstance(decode_code(data), str)


async def test_driver_publishes_codes_only_to_personal_subscribers() -> None:
    sim = ScannerSimulator(terminator="crlf")
    pty = serve_pty(sim)
    bus = EventBus()
    session: asyncio.Queue[Event] = asyncio.Queue()
    everyone: List[Event] = []
    bus.subscribe(CodeScanned, session.put_nowait, personal=True)
    bus.subscribe(ScanFailed, session.put_nowait)
    bus.subscribe(CodeScanned, everyone.append)  # not personal: must never see a code
    settings = dataclasses.replace(QrScannerSettings(), max_length=64)
    scanner = SerialScanner(
        DeviceSpec(f"qrscanner@{pty.path}", "qrscanner", pty.path), bus, lambda: settings
    )
    await scanner.start()
    serving = asyncio.ensure_future(scanner.serve())
    try:
        sim.scan(HEALTH_CODE)
        sim.encoding = "gb18030"
        sim.scan(CHINESE)
        sim.send(b"\xff\xfe\x80\xff\r\n")
        sim.send(b"X" * 100 + b"\r\n")
        got = [await asyncio.wait_for(session.get(), 3) for _ in range(4)]
        assert got == [
            CodeScanned(scanner.name, HEALTH_CODE),
            CodeScanned(scanner.name, CHINESE),
            ScanFailed(scanner.name, "a 4-byte code is neither UTF-8 nor GB18030"),
            ScanFailed(scanner.name, "longer than 64 bytes"),
        ]
        assert everyone == []
        assert HEALTH_CODE not in repr(got[0])
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        await scanner.stop()
        pty.close()


def test_the_kind_follows_the_port() -> None:
    evdev_spec = DeviceSpec("qrscanner@event3", "qrscanner", "/dev/input/event3")
    serial_spec = DeviceSpec("qrscanner@ttyACM0", "qrscanner", "/dev/ttyACM0")
    assert scanner_for(evdev_spec) is EvdevScanner
    assert scanner_for(serial_spec) is SerialScanner
