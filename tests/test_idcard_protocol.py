"""ID card reader frames: documented traces, the decoder, SW3 errors, fuzzing."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.devices.idcard import synthetic
from govkiosk.devices.idcard.errors import (
    STATUS_ERRORS,
    CardReadError,
    CardRejectedError,
    ChecksumError,
    CommandRejectedError,
    FrameError,
    IdCardError,
    NoCardError,
    ReaderStatusError,
    SamFaultError,
    SelectCardError,
)
from govkiosk.devices.idcard.protocol import (
    MAX_LEN,
    Command,
    FrameDecoder,
    Request,
    Response,
    identity_from_reply,
    read_reply,
)

P = "AA AA AA 96 69"  # preamble

# --- documented requests (bytes after the preamble, checksum included) -------------


@pytest.mark.parametrize(
    ("command", "trace"),
    [
        (Command.SAM_STATUS, "00 03 11 FF ED"),
        (Command.RESET_SAM, "00 03 10 FF EC"),
        (Command.SAM_ID, "00 03 12 FF EE"),
        (Command.FIND_CARD, "00 03 20 01 22"),
        (Command.SELECT_CARD, "00 03 20 02 21"),
        (Command.READ_TEXT_PHOTO, "00 03 30 01 32"),
        (Command.READ_TEXT_PHOTO_FINGERPRINT, "00 03 30 10 23"),
    ],
)
def test_requests_match_the_documented_bytes(command: Command, trace: str) -> None:
    frame = bytes.fromhex(f"{P} {trace}")
    assert Request(command).to_bytes() == frame
    assert Request.from_bytes(frame) == Request(command)


def test_a_request_with_data_counts_it_in_len() -> None:
    # set max RF frame bytes: 61 FF with one data byte 50
    frame = bytes.fromhex(f"{P} 00 04 61 FF 50 CA")
    assert Request(Command.SET_MAX_RF_FRAME, b"\x50").to_bytes() == frame


# --- documented good replies ---------------------------------------------------------


def test_sam_status_ok() -> None:
    response = Response.from_bytes(bytes.fromhex(f"{P} 00 04 00 00 90 94"))  # SW3 90
    assert response == Response(0x90)
    assert response.ok
    response.raise_for_status()


def test_card_found() -> None:
    response = Response.from_bytes(bytes.fromhex(f"{P} 00 08 00 00 9F 00 00 00 00 97"))
    assert response.sw3 == 0x9F
    assert response.ok
    assert response.data == bytes(4)
    assert response.fits(Command.FIND_CARD)
    assert not response.fits(Command.SELECT_CARD)  # select answers 8 data bytes


def test_select_ok_carries_eight_bytes() -> None:
    body = bytes.fromhex("00 0C 00 00 90") + bytes(8)
    frame = bytes.fromhex(P) + body + bytes((0x0C ^ 0x90,))
    response = Response.from_bytes(frame)
    assert response.ok
    assert len(response.data) == 8


def test_read_reply_has_the_documented_shape() -> None:
    identity = synthetic.resident(random.Random(7))
    frame = read_reply(identity).to_bytes()
    assert len(frame) == 1295
    assert frame[:10] == bytes.fromhex(f"{P} 05 08 00 00 90")  # LEN 0x0508, SW 00 00 90
    assert frame[10:14] == bytes.fromhex("01 00 04 00")  # 256 text bytes, 1024 photo bytes
    assert frame[270:1294] == identity.photo
    assert identity_from_reply(Response.from_bytes(frame)) == identity


# --- SW3 error frames ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trace", "error"),
    [
        (f"{P} 00 04 00 00 80 84", NoCardError),  # find card: no card
        (f"{P} 00 04 00 00 81 85", SelectCardError),  # select failed
        (f"{P} 00 04 00 00 41 45", CardReadError),  # read failed
        (f"{P} 00 04 00 00 10 14", CommandRejectedError),  # our checksum was wrong
        (f"{P} 00 04 00 00 21 25", CommandRejectedError),  # bad command
        (f"{P} 00 04 00 00 60 64", SamFaultError),  # SAM self-test failed
        (f"{P} 00 04 00 00 66 62", SamFaultError),  # SAM not authorised
        (f"{P} 00 04 00 00 32 36", CardRejectedError),  # SAM rejected the card
    ],
)
def test_failure_statuses_raise_their_error(trace: str, error: type) -> None:
    response = Response.from_bytes(bytes.fromhex(trace))
    assert not response.ok
    with pytest.raises(error) as caught:
        response.raise_for_status()
    assert caught.value.sw3 == response.sw3
    assert f"{response.sw3:02X}" in str(caught.value)


def test_every_documented_status_has_a_message_and_an_unknown_one_still_raises() -> None:
    documented = {0x91, 0x10, 0x21, 0x23, 0x31, 0x32, 0x33, 0x40, 0x41, 0x60, 0x66, 0x80, 0x81}
    assert set(STATUS_ERRORS) == documented
    with pytest.raises(ReaderStatusError, match="status 77: unknown"):
        Response(0x77).raise_for_status()


def test_a_failure_fits_any_command_but_a_read_reply_only_a_read() -> None:
    assert Response(0x41).fits(Command.READ_TEXT_PHOTO)
    assert Response(0x80).fits(Command.SAM_STATUS)
    big = read_reply(synthetic.resident(random.Random(1)))
    assert big.fits(Command.READ_TEXT_PHOTO)
    assert not big.fits(Command.SAM_STATUS)


def test_response_repr_leaves_the_data_out() -> None:
    reply = read_reply(synthetic.resident(random.Random(3)))
    assert "data" not in repr(reply)


# --- framing errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trace", "error", "message"),
    [
        (f"{P} 00 04 00 00 90 95", ChecksumError, "checksum 95, expected 94"),
        ("AA AA AA 96 68 00 04 00 00 90 94", FrameError, "preamble"),
        (f"{P} 00 05 00 00 90 94", FrameError, "LEN says 5"),
        (f"{P} 00 02 90 92", FrameError, "too short"),
    ],
)
def test_malformed_frames_are_refused(trace: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Response.from_bytes(bytes.fromhex(trace))


# --- the decoder -------------------------------------------------------------------------

SAM_OK = bytes.fromhex(f"{P} 00 04 00 00 90 94")
FOUND = bytes.fromhex(f"{P} 00 08 00 00 9F 00 00 00 00 97")


def test_decoder_reassembles_a_frame_fed_one_byte_at_a_time() -> None:
    decoder = FrameDecoder()
    out = []
    for i in range(len(FOUND)):
        out += decoder.feed(FOUND[i : i + 1])
    assert out == [FOUND]
    assert decoder.pending == 0


def test_decoder_splits_frames_that_arrive_together() -> None:
    assert FrameDecoder().feed(SAM_OK + FOUND + SAM_OK) == [SAM_OK, FOUND, SAM_OK]


def test_decoder_skips_garbage_and_a_partial_preamble() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(bytes.fromhex("00 FF AA AA 13 AA AA")) == []
    assert decoder.pending <= 4  # only what may start a preamble is kept
    assert decoder.feed(bytes.fromhex("AA 96 69 00 04 00 00 90 94")) == [SAM_OK]


def test_decoder_resyncs_after_a_bad_checksum() -> None:
    broken = SAM_OK[:-1] + b"\x00"  # CHK 00 instead of 94
    out = FrameDecoder().feed(broken + FOUND)
    assert isinstance(out[0], ChecksumError)
    assert out[1:] == [FOUND]


def test_decoder_finds_a_frame_hidden_behind_a_lost_byte() -> None:
    # The first reply lost its last data byte: its LEN now swallows the next frame's
    # start. The decoder rejects the mangled frame and still finds the second one.
    mangled = SAM_OK[:-2] + SAM_OK[-1:]
    out = FrameDecoder().feed(mangled + FOUND + SAM_OK)
    assert [x for x in out if isinstance(x, bytes)][-1] == SAM_OK
    assert FOUND in out
    assert any(isinstance(x, ChecksumError) for x in out)


def test_decoder_rejects_a_huge_len_without_waiting_for_it() -> None:
    decoder = FrameDecoder()
    out = decoder.feed(bytes.fromhex(f"{P} FF FF 00 00 90") + SAM_OK)
    assert isinstance(out[0], FrameError)
    assert "implausible LEN 65535" in str(out[0])
    assert out[-1] == SAM_OK


def test_decoder_reset_drops_a_partial_frame() -> None:
    decoder = FrameDecoder()
    decoder.feed(FOUND[:6])
    decoder.reset()
    assert decoder.pending == 0
    assert decoder.feed(SAM_OK) == [SAM_OK]


# --- fuzzing -----------------------------------------------------------------------------


@pytest.mark.fuzz
@given(st.binary(max_size=3000), st.lists(st.integers(1, 300), max_size=20))
def test_decoder_survives_any_bytes_in_any_chunks(data: bytes, cuts: list) -> None:
    decoder = FrameDecoder()
    position = 0
    for size in [*cuts, len(data)]:
        for item in decoder.feed(data[position : position + size]):
            assert isinstance(item, (bytes, FrameError))
            if isinstance(item, bytes):
                Response.from_bytes(item) if len(item) >= 11 else Request.from_bytes(item)
        position += size
        assert decoder.pending <= 7 + MAX_LEN


@pytest.mark.fuzz
@given(
    st.binary(max_size=64),
    st.integers(0, 0xFFFF),
    st.binary(max_size=64),
    st.integers(1, 50),
)
def test_decoder_finds_a_good_frame_after_any_junk_and_huge_len(
    junk: bytes, length: int, more: bytes, chunk: int
) -> None:
    stream = junk + bytes.fromhex(P) + length.to_bytes(2, "big") + more + SAM_OK + SAM_OK
    decoder = FrameDecoder()
    frames = []
    for i in range(0, len(stream), chunk):
        frames += [x for x in decoder.feed(stream[i : i + chunk]) if isinstance(x, bytes)]
    assert frames[-1] == SAM_OK


@pytest.mark.fuzz
@given(st.binary(max_size=1400))
def test_parsing_any_frame_raises_only_our_errors(data: bytes) -> None:
    frame = bytes.fromhex(P) + data
    for parse in (Response.from_bytes, Request.from_bytes):
        with contextlib.suppress(IdCardError):
            parse(frame)


@pytest.mark.fuzz
@given(st.binary(min_size=0, max_size=1400), st.sampled_from([0x90, 0x41]))
def test_read_reply_parsing_raises_only_our_errors(data: bytes, sw3: int) -> None:
    with contextlib.suppress(IdCardError):
        identity_from_reply(Response(sw3, data))
