"""Synthetic card holders for the simulator, tests and benchmarks: never real people.

Names are built from a fixed pool with 测 in the middle, so no one mistakes them for
a person; ID numbers have valid check characters and carry the birth date, as a real
card's would, so the parser's checks pass.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import date
from typing import Any, Callable, Dict, Optional, Tuple, cast

from .cardtext import (
    PHOTO_SIZE,
    CardKind,
    ForeignResidentIdentity,
    Gender,
    Identity,
    Nation,
    ResidencePermitIdentity,
    ResidentIdentity,
    check_character,
)

_SURNAMES = "赵钱孙李周吴郑王"
_GIVEN = "甲乙丙丁戊己庚辛"
_REGIONS = ("230102", "230103", "230602", "110101", "310101", "440106")
_PERMIT_REGIONS = ("810000", "820000", "830000")


def _day(rng: random.Random, first_year: int, last_year: int) -> date:
    # Days 1-28 exist in every month, so adding years never lands on 29 February.
    return date(rng.randint(first_year, last_year), rng.randint(1, 12), rng.randint(1, 28))


def _validity(rng: random.Random, birth: date) -> Tuple[date, Optional[date]]:
    first = birth.year + 16
    start = date(rng.randint(first, max(first, 2024)), rng.randint(1, 12), rng.randint(1, 28))
    age = start.year - birth.year
    if age >= 46:
        return start, None  # 长期
    return start, start.replace(year=start.year + (10 if age < 26 else 20))


def _numbered(rng: random.Random, region: str, birth: date) -> Tuple[str, Gender]:
    sequence = f"{rng.randint(0, 999):03d}"
    first17 = region + birth.strftime("%Y%m%d") + sequence
    gender = Gender.MALE if int(sequence[-1]) % 2 else Gender.FEMALE
    return first17 + check_character(first17), gender


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "测" + rng.choice(_GIVEN)


def photo(rng: random.Random) -> bytes:
    """Stand-in WLT bytes: random, so no two synthetic cards look alike."""
    return bytes(rng.getrandbits(8) for _ in range(PHOTO_SIZE))


def carrying(identity: Identity, photo: bytes) -> Identity:
    """``identity`` with ``photo`` as its card's photo bytes (a simulated photo,
    :mod:`.simphoto`), so a verifier can compare a face with it."""
    if len(photo) != PHOTO_SIZE:
        raise ValueError(f"a card photo has {PHOTO_SIZE} bytes, not {len(photo)}")
    return cast(Identity, dataclasses.replace(cast(Any, identity), photo=photo))


def resident(rng: random.Random) -> ResidentIdentity:
    birth = _day(rng, 1940, 2008)
    number, gender = _numbered(rng, rng.choice(_REGIONS), birth)
    valid_from, valid_to = _validity(rng, birth)
    return ResidentIdentity(
        name=_name(rng),
        gender=gender,
        nation=Nation(f"{rng.randint(1, 56):02d}"),
        birth_date=birth,
        address=f"黑龙江省哈尔滨市测试区样例路{rng.randint(1, 999)}号",
        id_number=number,
        authority="哈尔滨市公安局测试分局",
        valid_from=valid_from,
        valid_to=valid_to,
        photo=photo(rng),
    )


def residence_permit(rng: random.Random) -> ResidencePermitIdentity:
    birth = _day(rng, 1950, 2005)
    number, gender = _numbered(rng, rng.choice(_PERMIT_REGIONS), birth)
    valid_from, valid_to = _validity(rng, birth)
    return ResidencePermitIdentity(
        name=_name(rng),
        gender=gender,
        birth_date=birth,
        address=f"广东省广州市测试区样例街{rng.randint(1, 999)}号",
        id_number=number,
        authority="广州市公安局测试分局",
        valid_from=valid_from,
        valid_to=valid_to if valid_to is not None else valid_from.replace(year=valid_from.year + 5),
        pass_number=f"{rng.choice('HM')}{rng.randint(0, 99999999):08d}",
        issue_count=rng.randint(1, 9),
        photo=photo(rng),
    )


def foreign_2017(rng: random.Random) -> ForeignResidentIdentity:
    birth = _day(rng, 1950, 2005)
    nationality = rng.choice(("USA", "CAN", "DEU", "FRA", "JPN"))
    start, _end = _validity(rng, birth)
    return ForeignResidentIdentity(
        version=CardKind.FOREIGN_2017,
        english_name=f"SAMPLE, TEST {rng.choice('ABCDEFGH')}",
        chinese_name=_name(rng),
        gender=rng.choice((Gender.MALE, Gender.FEMALE)),
        card_number=nationality + f"{rng.randint(0, 10**12 - 1):012d}",
        nationality=nationality,
        birth_date=birth,
        valid_from=start,
        valid_to=start.replace(year=start.year + 10),
        photo=photo(rng),
        authority_code="1100",
        card_version="01",
    )


def foreign_2023(rng: random.Random) -> ForeignResidentIdentity:
    birth = _day(rng, 1950, 2005)
    start, _end = _validity(rng, birth)
    first17 = "9" + f"{rng.randint(0, 10**16 - 1):016d}"
    return ForeignResidentIdentity(
        version=CardKind.FOREIGN_2023,
        # Longer than the 35 characters at offset 52: the rest goes to offset 220.
        english_name=f"SAMPLE-EXAMPLE, TESTPERSON LONGNAME {rng.choice('ABCDEFGH')}",
        chinese_name=_name(rng),
        gender=rng.choice((Gender.MALE, Gender.FEMALE)),
        card_number=first17 + check_character(first17),
        nationality=rng.choice(("USA", "CAN", "DEU", "FRA", "JPN")),
        birth_date=birth,
        valid_from=start,
        valid_to=start.replace(year=start.year + 10),
        photo=photo(rng),
        renewals=rng.randint(0, 3),
    )


GENERATORS: Dict[CardKind, Callable[[random.Random], Identity]] = {
    CardKind.RESIDENT: resident,
    CardKind.RESIDENCE_PERMIT: residence_permit,
    CardKind.FOREIGN_2017: foreign_2017,
    CardKind.FOREIGN_2023: foreign_2023,
}
