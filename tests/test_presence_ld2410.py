"""The LD2410 frame format, from captured traces, and the decoder's resynchronisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.devices.presence import ld2410
from govkiosk.devices.presence.ld2410 import Ack, Decoder, Report, TargetState

# Basic report frames: header, length 0x000D, type 02, AA, 9 target bytes, 55 00, trailer.
NOBODY = bytes.fromhex("F4F3F2F1 0D00 02 AA 00 0000 00 0000 00 0000 55 00 F8F7F6F5")
# moving target at 0x0078 = 120 cm, energy 0x40; detection distance 120 cm
MOVING = bytes.fromhex("F4F3F2F1 0D00 02 AA 01 7800 40 0000 00 7800 55 00 F8F7F6F5")
# the vendor's example: stationary target, energy 0x3B (its distance field reads 0)
STATIONARY = bytes.fromhex("F4F3F2F1 0D00 02 AA 02 5100 00 0000 3B 0000 55 00 F8F7F6F5")
# engineering frame (type 01): both targets, gates 0-8 for each, two vendor bytes (03 05)
ENGINEERING = bytes.fromhex(
    "F4F3F2F1 2300 01 AA 03 1E00 3C 0000 39 0000 08 08"
    " 3C 22 05 03 03 04 03 06 05  00 00 39 10 13 06 06 08 04  03 05 55 00 F8F7F6F5"
)
# ACK to read-firmware (00A0 | 0100): status 0, type 0100, major 0107, minor 22091516
FIRMWARE_ACK = bytes.fromhex("FDFCFBFA 0C00 A001 0000 0001 0701 16150922 04030201")


def test_no_target() -> None:
    (report,) = Decoder().feed(NOBODY)
    assert report == Report(TargetState.NONE, 0, 0, 0, 0, 0)
    assert isinstance(report, Report)
    assert report.nearest_cm() is None


def test_moving_target() -> None:
    (report,) = Decoder().feed(MOVING)
    assert report == Report(TargetState.MOVING, 120, 0x40, 0, 0, 120)
    assert isinstance(report, Report)
    assert report.nearest_cm() == 120


def test_stationary_target() -> None:
    (report,) = Decoder().feed(STATIONARY)
    assert isinstance(report, Report)
    assert report.state is TargetState.STATIONARY
    assert (report.stationary_cm, report.stationary_energy) == (0, 0x3B)


def test_engineering_frame_keeps_gate_energies() -> None:
    (report,) = Decoder().feed(ENGINEERING)
    assert isinstance(report, Report)
    assert report.state is TargetState.BOTH
    assert report.gates is not None
    assert report.gates.moving == (0x3C, 0x22, 5, 3, 3, 4, 3, 6, 5)
    assert report.gates.stationary == (0, 0, 0x39, 0x10, 0x13, 6, 6, 8, 4)
    assert report.gates.extra == b"\x03\x05"
    assert ld2410.encode_report(report) == ENGINEERING


def test_firmware_ack() -> None:
    (ack,) = Decoder().feed(FIRMWARE_ACK)
    assert ack == Ack(ld2410.CMD_READ_FIRMWARE, 0, bytes.fromhex("0001 0701 16150922"))
    assert isinstance(ack, Ack)
    assert ld2410.firmware_version(ack) == "V1.07.22091516"


def test_command_frames_match_the_vendor_examples() -> None:
    assert ld2410.encode_command(ld2410.CMD_ENABLE_CONFIG, b"\x01\x00") == bytes.fromhex(
        "FDFCFBFA 0400 FF00 0100 04030201"
    )
    assert ld2410.encode_command(ld2410.CMD_END_CONFIG) == bytes.fromhex(
        "FDFCFBFA 0200 FE00 04030201"
    )


def test_resyncs_after_garbage_a_false_header_and_a_cut_frame() -> None:
    decoder = Decoder()
    stream = (
        b"\x00\xff\xf4\xf3"  # noise ending in half a header
        + MOVING[:9]  # a frame cut short by a reconnect
        + bytes.fromhex("F4F3F2F1 FFFF")  # a header with an impossible length
        + NOBODY
        + STATIONARY
    )
    frames = [f for i in range(len(stream)) for f in decoder.feed(stream[i : i + 1])]
    assert [f.state for f in frames if isinstance(f, Report)] == [
        TargetState.NONE,
        TargetState.STATIONARY,
    ]
    assert decoder.skipped > 0


def test_bad_markers_inside_a_frame_are_malformed_not_fatal() -> None:
    broken = NOBODY.replace(bytes.fromhex("55 00 F8"), bytes.fromhex("66 00 F8"))
    frames = Decoder().feed(broken + MOVING)
    assert isinstance(frames[0], ld2410.Malformed)
    assert isinstance(frames[1], Report)


reports = st.builds(
    Report,
    st.sampled_from(TargetState),
    st.integers(0, 0xFFFF),
    st.integers(0, 100),
    st.integers(0, 0xFFFF),
    st.integers(0, 100),
    st.integers(0, 0xFFFF),
)


@pytest.mark.fuzz
@given(st.binary(max_size=512))
def test_fuzz_arbitrary_bytes_never_raise(data: bytes) -> None:
    decoder = Decoder()
    decoder.feed(data)
    # The decoder still finds a good frame after any garbage.
    assert Decoder().feed(data + NOBODY * 2)[-1] == Report(TargetState.NONE, 0, 0, 0, 0, 0)


@pytest.mark.fuzz
@given(st.binary(max_size=64), reports, st.integers(1, 30))
def test_fuzz_report_round_trip_after_noise(noise: bytes, report: Report, chunk: int) -> None:
    stream = noise + ld2410.encode_report(report) + ld2410.encode_report(report)
    decoder = Decoder()
    frames = [f for i in range(0, len(stream), chunk) for f in decoder.feed(stream[i : i + chunk])]
    assert frames[-1] == report


def test_a_repeated_report_is_decoded_once_and_a_new_one_still_seen() -> None:
    decoder = Decoder()
    first = decoder.feed(NOBODY)
    again = decoder.feed(NOBODY)
    assert again == first
    assert again[0] is first[0]  # the same frame, not parsed again
    someone = ld2410.encode_report(Report(TargetState.MOVING, 80, 60, 0, 0, 80))
    assert decoder.feed(someone) == [Report(TargetState.MOVING, 80, 60, 0, 0, 80)]
    # A repeat after a partial frame is parsed with what came before it, as it always was.
    reference = Decoder()
    assert decoder.feed(someone[:5]) == reference.feed(someone[:5]) == []
    assert decoder.feed(NOBODY) == reference.feed(NOBODY)
    assert decoder.skipped == reference.skipped


@pytest.mark.fuzz
@given(
    st.lists(st.sampled_from([NOBODY, b"\xf4\xf3", b"\x00", b"junk"]) | st.binary(), max_size=12)
)
def test_fuzz_chunks_decode_as_a_fresh_decoder_decodes_them_one_by_one(chunks: list) -> None:
    decoder, reference = Decoder(), Decoder()
    for chunk in chunks:
        assert decoder.feed(chunk) == reference.feed(chunk)
        reference._repeat = None  # the reference always parses
