"""ESC/POS encoding, status bytes and the simulator's stream parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.devices.receipt import escpos
from govkiosk.devices.receipt.errors import EncodeError, StatusParseError
from govkiosk.devices.receipt.escpos import (
    Align,
    Cut,
    ErrorCorrection,
    Feed,
    Line,
    QrCode,
    Receipt,
    Style,
)
from govkiosk.devices.receipt.printout import PrintedLine, PrintedQr, Printout, StreamParser
from govkiosk.devices.receipt.status import (
    BarrierReply,
    PrinterState,
    PrinterStatus,
    StatusKind,
    status_request,
)


def test_init_alignment_bold_size_feed() -> None:
    assert bytes.fromhex("1b 40") == escpos.INIT  # ESC @
    assert escpos.align(Align.CENTER) == bytes.fromhex("1b 61 01")  # ESC a 1
    assert escpos.bold(True) == bytes.fromhex("1b 45 01")  # ESC E 1
    assert escpos.char_size(2, 2) == bytes.fromhex("1d 21 11")  # GS ! 0x11: double both
    assert escpos.char_size(1, 3) == bytes.fromhex("1d 21 02")  # GS ! 0x02: triple height
    assert escpos.feed(3) == bytes.fromhex("1b 64 03")  # ESC d 3
    with pytest.raises(EncodeError):
        escpos.char_size(9, 1)


def test_chinese_text_is_sent_in_chinese_mode_as_gb18030() -> None:
    assert escpos.text("政务服务") == bytes.fromhex(
        "1c 26"  # FS &: Chinese mode on
        " d5fe cef1 b7fe cef1"  # 政务服务 in GB18030
        " 1c 2e"  # FS .: Chinese mode off
    )


def test_cjk_punctuation_alone_still_switches_to_chinese_mode() -> None:
    # python-escpos sends these in the code page: the printer prints garbage.
    assert escpos.text("、。：") == bytes.fromhex("1c 26 a1a2 a1a3 a3ba 1c 2e")


def test_ascii_stays_outside_chinese_mode() -> None:
    assert escpos.text("No. 0451") == b"No. 0451"


def test_four_byte_gb18030_and_the_gbk_fallback() -> None:
    assert escpos.text("𠀀") == bytes.fromhex("1c 26 95328236 1c 2e")  # CJK Ext. B
    with pytest.raises(EncodeError, match="gbk"):
        escpos.text("𠀀", "gbk")


def test_control_characters_cannot_be_smuggled_into_text() -> None:
    with pytest.raises(EncodeError):
        escpos.text("证明\x1d\x56\x00")  # a cut hidden in a name


def test_qr_code_commands() -> None:
    assert bytes.fromhex("1d 28 6b 04 00 31 41 32 00") == escpos.QR_MODEL_2
    assert escpos.qr_module_size(6) == bytes.fromhex("1d 28 6b 03 00 31 43 06")
    assert escpos.qr_error_correction(ErrorCorrection.Q) == bytes.fromhex("1d 28 6b 03 00 31 45 32")
    assert bytes.fromhex("1d 28 6b 03 00 31 51 30") == escpos.QR_PRINT


@pytest.mark.parametrize(
    ("length", "header"),
    [
        (1, "1d 28 6b 04 00 31 50 30"),  # 1 + 3 = 4: pL 04 pH 00
        (252, "1d 28 6b ff 00 31 50 30"),  # 255: the largest with pH 00
        (253, "1d 28 6b 00 01 31 50 30"),  # 256: pL 00 pH 01
        (300, "1d 28 6b 2f 01 31 50 30"),  # 303 = 0x12f
        (7089, "1d 28 6b b4 1b 31 50 30"),  # 7092 = 0x1bb4, the model 2 maximum
    ],
)
def test_qr_store_length_bytes(length: int, header: str) -> None:
    data = b"9" * length
    assert escpos.qr_store(data) == bytes.fromhex(header) + data


def test_qr_store_rejects_empty_and_oversized_data() -> None:
    for size in (0, 7090):
        with pytest.raises(EncodeError):
            escpos.qr_store(b"x" * size)


def test_cuts() -> None:
    assert escpos.cut(partial=False) == bytes.fromhex("1d 56 00")  # GS V 0: full
    assert escpos.cut(partial=True) == bytes.fromhex("1d 56 01")  # GS V 1: partial
    assert escpos.cut(partial=False, feed_lines=4) == bytes.fromhex("1d 56 41 04")  # GS V 65 n
    assert escpos.cut(partial=True, feed_lines=4) == bytes.fromhex("1d 56 42 04")  # GS V 66 n


def test_receipt_bytes() -> None:
    receipt = Receipt((Line("凭条", Style(Align.CENTER, bold=True)), Feed(1), Cut()))
    assert receipt.encode() == bytes.fromhex(
        "1b 40"  # ESC @
        " 1b 61 01  1b 45 01  1d 21 00"  # centre, bold, normal size
        " 1c 26 c6be ccf5 1c 2e 0a"  # FS & 凭条 FS . LF
        " 1b 64 01"  # feed 1
        " 1d 56 01"  # partial cut
    )


# --- status --------------------------------------------------------------------------


def test_status_requests() -> None:
    assert [status_request(k) for k in StatusKind] == [
        bytes.fromhex("10 04 01"),
        bytes.fromhex("10 04 02"),
        bytes.fromhex("10 04 03"),
        bytes.fromhex("10 04 04"),
    ]


def test_status_all_clear() -> None:
    status = PrinterStatus.from_replies(0x12, 0x12, 0x12, 0x12)
    assert status == PrinterStatus()
    assert status.state is PrinterState.READY
    assert status.problem is None


@pytest.mark.parametrize(
    ("replies", "flag", "state"),
    [
        ((0x1A, 0x12, 0x12, 0x12), "offline", PrinterState.OFFLINE),  # n=1 bit 3
        ((0x32, 0x12, 0x12, 0x12), "waiting_for_recovery", PrinterState.OFFLINE),  # n=1 bit 5
        ((0x52, 0x12, 0x12, 0x12), "feed_button_pressed", PrinterState.READY),  # n=1 bit 6
        ((0x12, 0x16, 0x12, 0x12), "cover_open", PrinterState.COVER_OPEN),  # n=2 bit 2
        ((0x12, 0x1A, 0x12, 0x12), "feeding_by_button", PrinterState.READY),  # n=2 bit 3
        ((0x12, 0x32, 0x12, 0x12), "stopped_by_paper_end", PrinterState.PAPER_OUT),  # n=2 bit 5
        ((0x12, 0x52, 0x12, 0x12), "error", PrinterState.ERROR),  # n=2 bit 6
        ((0x12, 0x12, 0x16, 0x12), "recoverable_error", PrinterState.ERROR),  # n=3 bit 2
        ((0x12, 0x12, 0x1A, 0x12), "cutter_error", PrinterState.ERROR),  # n=3 bit 3
        ((0x12, 0x12, 0x32, 0x12), "unrecoverable_error", PrinterState.ERROR),  # n=3 bit 5
        ((0x12, 0x12, 0x52, 0x12), "auto_recoverable_error", PrinterState.ERROR),  # n=3 bit 6
        ((0x12, 0x12, 0x12, 0x1E), "paper_near_end", PrinterState.PAPER_LOW),  # n=4 bits 2,3
        ((0x12, 0x12, 0x12, 0x72), "paper_out", PrinterState.PAPER_OUT),  # n=4 bits 5,6
    ],
)
def test_status_bits(replies: tuple, flag: str, state: PrinterState) -> None:
    status = PrinterStatus.from_replies(*replies)
    set_flags = [name for name, value in vars(status).items() if value]
    assert set_flags == [flag]
    assert status.state is state
    assert status.to_replies() == bytes(replies)


def test_an_out_of_paper_printer_as_seen_in_the_field() -> None:
    status = PrinterStatus.from_replies(0x1A, 0x32, 0x12, 0x7E)  # offline, paper end, near end
    assert status.state is PrinterState.PAPER_OUT
    assert status.problem == "paper out"


def test_cutter_error_is_named() -> None:
    assert PrinterStatus(cutter_error=True).problem == "printer error: cutter error"


@pytest.mark.parametrize("byte", [0x00, 0x10, 0x02, 0x92, 0xFF])
def test_bytes_breaking_the_fixed_bits_are_not_status(byte: int) -> None:
    with pytest.raises(StatusParseError):
        PrinterStatus.from_replies(byte, 0x12, 0x12, 0x12)


def test_barrier_reply() -> None:
    assert BarrierReply.from_byte(0x00) == BarrierReply(paper_near_end=False, paper_out=False)
    assert BarrierReply.from_byte(0x0F) == BarrierReply(paper_near_end=True, paper_out=True)
    with pytest.raises(StatusParseError):
        BarrierReply.from_byte(0x12)  # a DLE EOT reply, bit 4 set


# --- the simulator's parser ---------------------------------------------------------


def _print(data: bytes, chunk: int = 0) -> Printout:
    parser, printout = StreamParser(), Printout()
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] if chunk else [data]
    for piece in pieces:
        parser.feed(piece)
        while (item := parser.next()) is not None:
            printout.apply(item)
    return printout


def test_parser_reads_a_receipt_back() -> None:
    qr = QrCode("https://verify.example/abc", module_size=5, error_correction=ErrorCorrection.Q)
    receipt = Receipt(
        (
            Line("无犯罪记录证明", Style(Align.CENTER, True, 2, 2)),
            Line("ID 2301"),
            qr,
            Cut(False, 3),
        )
    )
    printed = _print(receipt.encode(), chunk=1).receipts
    assert len(printed) == 1
    assert printed[0].blocks == (
        PrintedLine("无犯罪记录证明", Style(Align.CENTER, True, 2, 2)),
        PrintedLine("ID 2301"),
        PrintedQr("https://verify.example/abc", 5, "Q", Align.CENTER),
    )
    assert printed[0].cut == "full"


def test_uncut_output_is_the_current_receipt() -> None:
    printout = _print(Receipt((Line("a"), Line("b"))).encode())
    assert printout.receipts == []
    assert printout.current.lines == ["a", "b"]


text_lines = st.text(
    st.characters(min_codepoint=0x20, blacklist_categories=("Cs", "Cc")), max_size=40
)


@pytest.mark.fuzz
@given(st.lists(text_lines, max_size=8), st.integers(1, 7))
def test_encoder_output_round_trips_through_the_parser(lines: list, chunk: int) -> None:
    receipt = Receipt((*(Line(t) for t in lines), Cut()))
    printed = _print(receipt.encode(), chunk).receipts
    assert [r.lines for r in printed] == [lines]


@pytest.mark.fuzz
@given(st.binary(max_size=600), st.integers(1, 64))
def test_parser_never_crashes_on_arbitrary_bytes(data: bytes, chunk: int) -> None:
    printout = _print(data, chunk)
    assert all(r.cut in ("full", "partial") for r in printout.receipts)
