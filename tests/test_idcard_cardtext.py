"""The card's text block: resident cards, 长期 validity, permits, foreign cards, mistakes."""

from __future__ import annotations

import contextlib
import random
from datetime import date
from typing import Dict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.devices.idcard import synthetic
from govkiosk.devices.idcard.cardtext import (
    NATIONS,
    PHOTO_SIZE,
    TEXT_SIZE,
    CardKind,
    ForeignResidentIdentity,
    Gender,
    ResidencePermitIdentity,
    ResidentIdentity,
    check_character,
    encode_text_block,
    parse_identity,
    valid_id_number,
)
from govkiosk.devices.idcard.errors import CardTextError, IdCardError, UnknownCardTypeError

PHOTO = bytes(range(256)) * 4

# A synthetic resident: 230102 region, born 1990-03-07, sequence 123 (odd: male).
RESIDENT: Dict[str, str] = {
    "name": "王测甲",
    "gender": "1",
    "nation": "01",
    "birth_date": "19900307",
    "address": "黑龙江省哈尔滨市测试区样例路1号",
    "id_number": "23010219900307123" + check_character("23010219900307123"),
    "authority": "哈尔滨市公安局测试分局",
    "valid_from": "20100101",
    "valid_to": "20300101",
}


def block(kind: CardKind = CardKind.RESIDENT, **changes: str) -> bytes:
    fields = {**RESIDENT, **changes} if kind is CardKind.RESIDENT else dict(changes)
    return encode_text_block(kind, fields)


def test_check_character_follows_iso_7064_mod_11_2() -> None:
    # The GB 11643 worked example: 11010519491231002 → X.
    assert check_character("11010519491231002") == "X"
    assert valid_id_number("11010519491231002X")
    assert not valid_id_number("110105194912310021")
    assert not valid_id_number("11010519491231002x")


def test_resident_block_offsets_are_the_documented_ones() -> None:
    text = block()
    assert len(text) == TEXT_SIZE
    assert text[0:6] == "王测甲".encode("utf-16-le")
    assert text[30:32] == b"1\x00"
    assert text[32:36] == "01".encode("utf-16-le")
    assert text[122:158] == RESIDENT["id_number"].encode("utf-16-le")
    assert text[248:250] == b" \x00"  # no card-type marker: a resident card


def test_resident_card_parses() -> None:
    identity = parse_identity(block(), PHOTO)
    assert isinstance(identity, ResidentIdentity)
    assert identity.kind is CardKind.RESIDENT
    assert identity.name == "王测甲"
    assert identity.gender is Gender.MALE
    assert identity.gender.label == "男"
    assert identity.nation.name == "汉族"
    assert identity.birth_date == date(1990, 3, 7)
    assert identity.address == RESIDENT["address"]
    assert identity.id_number == RESIDENT["id_number"]
    assert identity.authority == RESIDENT["authority"]
    assert identity.valid_from == date(2010, 1, 1)
    assert identity.valid_to == date(2030, 1, 1)
    assert identity.photo == PHOTO
    assert identity.to_text_block() == block()


def test_long_term_validity_has_no_end_date() -> None:
    identity = parse_identity(block(valid_to="长期"), PHOTO)
    assert isinstance(identity, ResidentIdentity)
    assert identity.valid_to is None
    assert identity.to_text_block() == block(valid_to="长期")


def test_nation_table_is_gb_t_3304() -> None:
    assert len(NATIONS) == 58
    assert (NATIONS["01"], NATIONS["02"], NATIONS["56"]) == ("汉族", "蒙古族", "基诺族")
    assert (NATIONS["97"], NATIONS["98"]) == ("其他", "外国血统中国籍人士")
    identity = parse_identity(block(nation="98"), PHOTO)
    assert isinstance(identity, ResidentIdentity)
    assert identity.nation.name == "外国血统中国籍人士"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id_number": RESIDENT["id_number"][:17] + "0"}, "ID number: not 17 digits"),
        ({"birth_date": "19900230"}, "birth date: not a calendar date"),
        ({"birth_date": "1990037"}, "birth date: expected a YYYYMMDD date"),
        ({"birth_date": "19900308"}, "does not carry the card's birth date"),
        ({"valid_to": "20091231"}, "validity: ends before it starts"),
        ({"valid_from": "2010-1-1"}, "valid from: expected a YYYYMMDD date"),
        ({"gender": "5"}, "gender: not a GB/T 2261.1 code"),
        ({"nation": "57"}, "nation: not a GB/T 3304 code"),
        ({"name": ""}, "name: empty"),
    ],
)
def test_invalid_resident_fields_are_named_without_their_value(
    changes: Dict[str, str], message: str
) -> None:
    with pytest.raises(CardTextError, match=message) as caught:
        parse_identity(block(**changes), PHOTO)
    for value in changes.values():
        if value:
            assert value not in str(caught.value)


PERMIT = {
    "name": "李测乙",
    "gender": "2",
    "birth_date": "19851120",
    "address": "广东省广州市测试区样例街2号",
    "id_number": "81000019851120002" + check_character("81000019851120002"),
    "authority": "广州市公安局测试分局",
    "valid_from": "20190901",
    "valid_to": "20240901",
    "pass_number": "H12345678",
    "issue_count": "02",
}


def test_hk_macao_taiwan_permit_is_recognised_by_marker_j() -> None:
    text = encode_text_block(CardKind.RESIDENCE_PERMIT, PERMIT)
    assert text[248:250] == b"J\x00"
    identity = parse_identity(text, PHOTO)
    assert isinstance(identity, ResidencePermitIdentity)
    assert identity.kind is CardKind.RESIDENCE_PERMIT
    assert identity.pass_number == "H12345678"
    assert identity.issue_count == 2
    assert identity.id_number.startswith("81")


def test_a_permit_with_a_resident_number_is_refused() -> None:
    number = RESIDENT["id_number"]
    fields = {**PERMIT, "id_number": number, "birth_date": "19900307"}
    with pytest.raises(CardTextError, match="does not start as this card type requires"):
        parse_identity(encode_text_block(CardKind.RESIDENCE_PERMIT, fields), PHOTO)


FOREIGN_2017 = {
    "english_name": "SAMPLE, TEST A",
    "gender": "1",
    "card_number": "USA110080101001",
    "nationality": "USA",
    "chinese_name": "测试",
    "valid_from": "20180101",
    "valid_to": "20280101",
    "birth_date": "19800101",
    "card_version": "01",
    "authority_code": "1100",
}


def test_foreign_2017_card_is_recognised_by_marker_i_and_not_read_as_resident() -> None:
    text = encode_text_block(CardKind.FOREIGN_2017, FOREIGN_2017)
    assert text[248:250] == b"I\x00"
    assert text[0:28] == "SAMPLE, TEST A".encode("utf-16-le")  # English name at 0, 120 bytes
    identity = parse_identity(text, PHOTO)
    assert isinstance(identity, ForeignResidentIdentity)
    assert identity.kind is CardKind.FOREIGN_2017
    assert identity.english_name == "SAMPLE, TEST A"
    assert identity.chinese_name == "测试"
    assert identity.card_number == "USA110080101001"
    assert identity.nationality == "USA"
    assert identity.birth_date == date(1980, 1, 1)
    assert identity.authority_code == "1100"


def test_foreign_2023_card_joins_its_split_english_name() -> None:
    first17 = "91100840198001010"
    fields = {
        "chinese_name": "测试",
        "gender": "2",
        "renewals": "01",
        "birth_date": "19800101",
        "english_name": "SAMPLE-EXAMPLE, TESTPERSON LONGNAME",  # 35 characters: the slot is full
        "english_name_more": " B",
        "card_number": first17 + check_character(first17),
        "valid_from": "20240101",
        "valid_to": "20340101",
        "nationality": "USA",
    }
    text = encode_text_block(CardKind.FOREIGN_2023, fields)
    assert text[248:250] == b"Y\x00"
    identity = parse_identity(text, PHOTO)
    assert isinstance(identity, ForeignResidentIdentity)
    assert identity.kind is CardKind.FOREIGN_2023
    assert identity.english_name == "SAMPLE-EXAMPLE, TESTPERSON LONGNAME B"
    assert identity.renewals == 1
    assert identity.to_text_block() == text


def test_unknown_card_type_marker_is_refused() -> None:
    text = bytearray(block())
    text[248:250] = "Z".encode("utf-16-le")
    with pytest.raises(UnknownCardTypeError, match="U\\+005A"):
        parse_identity(bytes(text), PHOTO)


def test_wrong_sizes_and_non_ucs2_text_are_refused() -> None:
    with pytest.raises(CardTextError, match="text block of 255 bytes"):
        parse_identity(block()[:255], PHOTO)
    with pytest.raises(CardTextError, match="photo of 1 bytes"):
        parse_identity(block(), b"\x00")
    text = bytearray(block())
    text[0:2] = b"\x00\xd8"  # a lone surrogate
    with pytest.raises(CardTextError, match="name: not UCS-2 text"):
        parse_identity(bytes(text), PHOTO)


@pytest.mark.parametrize("kind", list(CardKind))
def test_synthetic_cards_round_trip_and_hide_their_content(kind: CardKind) -> None:
    rng = random.Random(kind.value)
    for _ in range(50):
        identity = synthetic.GENERATORS[kind](rng)
        assert parse_identity(identity.to_text_block(), identity.photo) == identity
        shown = repr(identity) + str(identity) + f"{identity}"
        assert "withheld" in shown
        for value in identity.fields().values():
            if len(value) > 1:
                assert value not in shown


@pytest.mark.fuzz
@given(st.binary(min_size=TEXT_SIZE, max_size=TEXT_SIZE))
def test_any_text_block_raises_only_our_errors(text: bytes) -> None:
    with contextlib.suppress(IdCardError):
        parse_identity(text, bytes(PHOTO_SIZE))


@pytest.mark.fuzz
@given(
    st.sampled_from(list(CardKind)),
    st.dictionaries(
        st.sampled_from(["name", "gender", "nation", "birth_date", "id_number", "valid_to"]),
        st.text(max_size=8),
    ),
)
def test_any_field_values_raise_only_our_errors(kind: CardKind, changes: Dict[str, str]) -> None:
    base = synthetic.GENERATORS[kind](random.Random(0)).fields()
    fields = {**base, **{k: v for k, v in changes.items() if k in base}}
    try:
        text = encode_text_block(kind, fields)
    except (ValueError, UnicodeEncodeError):
        return  # does not fit the slot, or not encodable: no card could hold it
    try:
        identity = parse_identity(text, bytes(PHOTO_SIZE))
    except IdCardError:
        return
    assert identity.kind is kind
