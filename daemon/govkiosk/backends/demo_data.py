"""Synthetic department records for the seven Table 1 items (§7.1.1), for the demo.

Every fact is derived from the applicant's ID number with a seeded generator, so the
same synthetic person always gets the same record (birth date and sex come from the
number itself, as on a real card). :func:`certificate_for` answers one item with a
:class:`~.certificate.Certificate` and the department that seals it, or raises
:class:`Refusal` the way a department would (e.g. proof of receiving a pension for
someone below retirement age).

Items are known by their published names; :func:`item_names` maps the default
catalogue's codes to them, so the service answers whatever codes the catalogue uses.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from ..errors import GovkioskError
from .base import Applicant
from .certificate import Certificate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on the kiosks' Python 3.8
    import tomli as tomllib

CATALOGUE = Path(__file__).resolve().parent.parent / "items" / "data" / "catalogue.toml"

NO_CRIMINAL_RECORD = "无犯罪记录证明"
ID_CARD = "身份证打印"
HOUSEHOLD = "户口本打印"
CONTRIBUTIONS = "个人参保缴费记录打印"
PENSION_INSURANCE = "养老保险参保凭证打印"
PENSION_RECEIVED = "享受养老保险待遇证明"
STATEMENT = "社保清单打印"
#: Not in Table 1: the demo's item with a paper material under the document camera
#: (config/demo-items.toml).
MEDICAL_FILING = "异地就医备案"
#: Not in Table 1: the demo's electronic licence issued as OFD (config/demo-items.toml).
HOUSEHOLD_LICENCE = "居民户口簿电子证照"
DEMO_CODES = {
    "remote_medical_filing": MEDICAL_FILING,
    "household_register_ofd": HOUSEHOLD_LICENCE,
}

#: Province (first two digits) → (province, capital) for the regions the demo serves.
PROVINCES = {
    "23": ("黑龙江省", "哈尔滨市"),
    "22": ("吉林省", "长春市"),
    "21": ("辽宁省", "沈阳市"),
    "11": ("北京市", "北京市"),
    "31": ("上海市", "上海市"),
    "44": ("广东省", "广州市"),
}
DISTRICTS = ("南岗区", "道里区", "香坊区", "道外区", "松北区")
STREETS = ("建设街", "和平路", "人民大街", "中山路", "友谊路", "学府路")
ID_NUMBER = re.compile(r"\d{17}[\dX]")
#: The demo platform's published test identity (synthetic; a retired man of Harbin, so
#: every item, the pension received too, has a record): its test mode answers for it only.
TEST_APPLICANT = Applicant("230103195801010015", "测试人员")
#: Marks a test answer's certificate (title and watermark).
SPECIMEN = "测试样张"


class Refusal(GovkioskError):
    """The department's no: ``reason`` for systems, ``message`` for the citizen."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Person:
    """The department's record of a synthetic applicant."""

    name: str
    id_number: str
    birth: datetime.date
    male: bool
    province: str
    city: str
    district: str
    address: str
    rng_seed: int

    @property
    def sex(self) -> str:
        return "男" if self.male else "女"

    def age_on(self, day: datetime.date) -> int:
        return (
            day.year - self.birth.year - ((day.month, day.day) < (self.birth.month, self.birth.day))
        )


def person(applicant: Applicant, region: str) -> Person:
    if not ID_NUMBER.fullmatch(applicant.id_number):
        raise Refusal("invalid_applicant", "身份证件号码格式不正确")
    try:
        birth = datetime.datetime.strptime(applicant.id_number[6:14], "%Y%m%d").date()
    except ValueError as err:
        raise Refusal("invalid_applicant", "身份证件号码格式不正确") from err
    seed = int.from_bytes(hashlib.sha256(applicant.id_number.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    province, city = PROVINCES.get(region[:2], ("", "本市"))
    district = rng.choice(DISTRICTS)
    address = (
        f"{province}{city}{district}{rng.choice(STREETS)}{rng.randint(1, 399)}号"
        f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(1, 28)}0{rng.randint(1, 4)}室"
    )
    return Person(
        name=applicant.name,
        id_number=applicant.id_number,
        birth=birth,
        male=int(applicant.id_number[16]) % 2 == 1,
        province=province,
        city=city,
        district=district,
        address=address,
        rng_seed=seed,
    )


def _date(day: datetime.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _month(year: int, month: int) -> str:
    return f"{year}年{month:02d}月"


@dataclass(frozen=True)
class _Context:
    who: Person
    number: str
    today: datetime.date

    @property
    def police(self) -> str:
        return f"{self.who.city}公安局{self.who.district}分局"

    @property
    def hrss(self) -> str:
        return f"{self.who.city}社会保险事业管理局"

    def sealed(self, title: str, authority: str, **body: object) -> Certificate:
        return Certificate(
            title=title,
            authority=authority,
            number=self.number,
            issued=_date(self.today),
            verification=f"核验码：{self.number}　可通过政务服务平台“证明核验”查验真伪",
            **body,  # type: ignore[arg-type]
        )


def _no_criminal_record(c: _Context) -> Certificate:
    who = c.who
    adult = datetime.date(who.birth.year + 18, who.birth.month, min(who.birth.day, 28))
    return c.sealed(
        NO_CRIMINAL_RECORD,
        c.police,
        paragraphs=(
            f"兹证明{who.name}（性别：{who.sex}，公民身份号码：{who.id_number}），"
            f"自{_date(max(adult, datetime.date(1990, 1, 1)))}至{_date(c.today)}期间，"
            "经查询全国违法犯罪人员信息系统，未发现有犯罪记录。",
            "特此证明。",
        ),
        notes=(
            "1. 本证明自开具之日起三个月内有效。",
            "2. 本证明仅证明被证明人在上述期间内有无犯罪记录，不作其他用途。",
        ),
    )


def _id_card(c: _Context) -> Certificate:
    who = c.who
    start = datetime.date(max(c.today.year - random.Random(who.rng_seed).randint(0, 9), 2010), 6, 1)
    return c.sealed(
        "居民身份证电子证照",
        c.police,
        rows=(
            ("姓名", who.name),
            ("性别", who.sex),
            ("民族", "汉"),
            ("出生", _date(who.birth)),
            ("住址", who.address),
            ("公民身份号码", who.id_number),
            ("签发机关", c.police),
            ("有效期限", f"{start:%Y.%m.%d}-{start.replace(year=start.year + 20):%Y.%m.%d}"),
        ),
        closing=("本打印件依据电子证照库数据生成，仅供办理政务服务事项使用。",),
        seal_caption="电子证照专用章",
    )


def _household(c: _Context) -> Certificate:
    who = c.who
    rng = random.Random(who.rng_seed + 3)
    return c.sealed(
        "常住人口登记卡",
        f"{c.police}{rng.choice(STREETS)}派出所",
        rows=(
            ("户别", "家庭户"),
            ("户主或与户主关系", rng.choice(("户主", "子", "女", "配偶"))),
            ("姓名", who.name),
            ("性别", who.sex),
            ("民族", "汉"),
            ("出生日期", _date(who.birth)),
            ("出生地", f"{who.province}{who.city}"),
            ("籍贯", f"{who.province}{who.city}"),
            ("公民身份号码", who.id_number),
            ("文化程度", rng.choice(("大学本科", "大学专科", "高中", "研究生"))),
            ("婚姻状况", rng.choice(("已婚", "未婚"))),
            ("住址", who.address),
            ("何时由何地迁来本址", f"{who.birth.year + 18}年 本市{who.district}"),
            ("登记日期", _date(datetime.date(who.birth.year + 18, 9, 1))),
        ),
        seal_caption="户口专用章",
    )


def _household_licence(c: _Context) -> Certificate:
    """The household register as an electronic licence: the household page, then the
    holder's registration card, each on a page of its own."""
    who = c.who
    rng = random.Random(who.rng_seed + 3)
    station = f"{c.police}{rng.choice(STREETS)}派出所"
    return c.sealed(
        HOUSEHOLD_LICENCE,
        station,
        sections=(
            (
                "户主页",
                (
                    ("户别", "家庭户"),
                    ("户主姓名", who.name),
                    ("户号", f"{rng.randint(10**8, 10**9 - 1)}"),
                    ("住址", who.address),
                    ("登记机关", station),
                    ("承办人", f"民警{rng.randint(1000, 9999)}号"),
                    ("签发日期", _date(c.today)),
                ),
            ),
            (
                "常住人口登记卡",
                (
                    ("姓名", who.name),
                    ("户主或与户主关系", "户主"),
                    ("性别", who.sex),
                    ("民族", "汉"),
                    ("出生日期", _date(who.birth)),
                    ("出生地", f"{who.province}{who.city}"),
                    ("籍贯", f"{who.province}{who.city}"),
                    ("公民身份号码", who.id_number),
                    ("文化程度", rng.choice(("大学本科", "大学专科", "高中", "研究生"))),
                    ("婚姻状况", rng.choice(("已婚", "未婚"))),
                    ("住址", who.address),
                    ("登记日期", _date(datetime.date(who.birth.year + 18, 9, 1))),
                ),
            ),
        ),
        closing=(
            "本电子证照依据公安机关户籍管理信息系统数据生成，加盖国密电子印章，"
            "可通过政务服务平台核验。",
        ),
        seal_caption="户口专用章",
    )


def _years(c: _Context) -> List[Tuple[int, int, float]]:
    """(year, months paid, monthly base) from the first job to today or retirement."""
    who = c.who
    rng = random.Random(who.rng_seed + 4)
    first = max(who.birth.year + rng.randint(19, 24), 1993)
    last = min(c.today.year, who.birth.year + (60 if who.male else 55))
    return [
        (
            year,
            12 if year < c.today.year else c.today.month - 1 or 1,
            round(1100 * 1.075 ** (year - 1993) * rng.uniform(0.9, 1.3), -1),
        )
        for year in range(first, last + 1)
    ]


def _insured_years(c: _Context) -> List[Tuple[int, int, float]]:
    """:func:`_years`, refused for someone who has none: too young to have worked, or
    retired before the records begin."""
    years = _years(c)
    if not years:
        raise Refusal("no_record", "系统中未查询到您的参保缴费记录")
    return years


def _contributions(c: _Context) -> Certificate:
    years = _insured_years(c)
    table = [["年度", "缴费月数", "月缴费基数(元)", "单位缴纳(元)", "个人缴纳(元)"]] + [
        [str(y), str(m), f"{base:,.0f}", f"{base * m * 0.16:,.2f}", f"{base * m * 0.08:,.2f}"]
        for y, m, base in years
    ]
    return c.sealed(
        "个人参保缴费记录",
        c.hrss,
        rows=(
            ("姓名", c.who.name),
            ("公民身份号码", c.who.id_number),
            ("险种", "企业职工基本养老保险"),
            ("参保地", f"{c.who.province}{c.who.city}"),
            ("累计缴费月数", str(sum(m for _, m, _ in years))),
        ),
        table=table,
        seal_caption="社会保险业务专用章",
    )


def _pension_insurance(c: _Context) -> Certificate:
    years = _insured_years(c)
    months = sum(m for _, m, _ in years)
    account = sum(base * m * 0.08 for _, m, base in years)
    return c.sealed(
        "基本养老保险参保缴费凭证",
        c.hrss,
        paragraphs=(f"兹证明{c.who.name}在我市参加企业职工基本养老保险，参保缴费情况如下：",),
        rows=(
            ("姓名", c.who.name),
            ("公民身份号码", c.who.id_number),
            ("参保状态", "正常参保"),
            ("首次参保年月", _month(years[0][0], 1)),
            ("缴费起止年月", f"{_month(years[0][0], 1)}至{_month(years[-1][0], years[-1][1])}"),
            ("累计缴费月数", str(months)),
            ("个人账户累计储存额", f"{account:,.2f}元"),
        ),
        closing=("本凭证可作为参保人跨省转移接续养老保险关系的参保缴费证明。",),
        seal_caption="社会保险业务专用章",
    )


def _pension_received(c: _Context) -> Certificate:
    who = c.who
    retire_age = 60 if who.male else 55
    if who.age_on(c.today) < retire_age:
        raise Refusal("not_eligible", "系统中未查询到您享受养老保险待遇的记录")
    start = who.birth.replace(year=who.birth.year + retire_age, day=1)
    amount = 2600 + random.Random(who.rng_seed + 7).randint(0, 2400)
    return c.sealed(
        PENSION_RECEIVED,
        c.hrss,
        paragraphs=(
            f"兹证明{who.name}（性别：{who.sex}，公民身份号码：{who.id_number}）"
            f"自{_month(start.year, start.month)}起按月享受企业职工基本养老保险待遇，"
            f"现月领取基本养老金{amount:,}.00元，待遇发放状态正常。",
            "特此证明。",
        ),
        seal_caption="社会保险业务专用章",
    )


def _statement(c: _Context) -> Certificate:
    first = _insured_years(c)[0][0]
    rng = random.Random(c.who.rng_seed + 8)
    table = [["险种", "参保状态", "参保起始年月", "当前缴费基数(元)", "累计缴费月数"]]
    for kind, offset in (
        ("基本养老保险", 0),
        ("基本医疗保险", 1),
        ("失业保险", 0),
        ("工伤保险", 2),
        ("生育保险", 2),
    ):
        months = (c.today.year - first - offset) * 12 + c.today.month - 1
        table.append(
            [
                kind,
                "参保缴费",
                _month(first + offset, rng.randint(1, 12)),
                f"{rng.randint(38, 92) * 100:,}",
                str(max(months, 1)),
            ]
        )
    return c.sealed(
        "社会保险参保缴费情况清单",
        c.hrss,
        rows=(
            ("姓名", c.who.name),
            ("公民身份号码", c.who.id_number),
            ("参保地", f"{c.who.province}{c.who.city}"),
        ),
        table=table,
        seal_caption="社会保险业务专用章",
    )


def _medical_filing(c: _Context) -> Certificate:
    return c.sealed(
        "异地就医备案登记表",
        c.hrss,
        rows=(
            ("姓名", c.who.name),
            ("公民身份号码", c.who.id_number),
            ("参保地", f"{c.who.province}{c.who.city}"),
            ("备案类型", "异地长期居住人员"),
            ("备案材料", "居住证明（已收取，经高拍仪采集）"),
            ("备案有效期", f"自{_date(c.today)}起长期有效"),
        ),
        seal_caption="医疗保障业务专用章",
    )


#: Item name → (sealing department, record → certificate).
ITEMS: Dict[str, Tuple[str, Callable[[_Context], Certificate]]] = {
    NO_CRIMINAL_RECORD: ("police", _no_criminal_record),
    ID_CARD: ("police", _id_card),
    HOUSEHOLD: ("police", _household),
    CONTRIBUTIONS: ("hrss", _contributions),
    PENSION_INSURANCE: ("hrss", _pension_insurance),
    PENSION_RECEIVED: ("hrss", _pension_received),
    STATEMENT: ("hrss", _statement),
    MEDICAL_FILING: ("hrss", _medical_filing),
    HOUSEHOLD_LICENCE: ("police", _household_licence),
}


def certificate_for(
    item_name: str, applicant: Applicant, region: str, number: str, today: datetime.date
) -> Tuple[str, Certificate]:
    """The sealing department and the certificate; :class:`Refusal` if there is none."""
    entry = ITEMS.get(item_name)
    if entry is None:
        raise Refusal("unknown_item", "本部门不办理该事项")
    department, make = entry
    return department, make(_Context(person(applicant, region), number, today))


def item_names(catalogue: Path = CATALOGUE) -> Dict[str, str]:
    """Item code → published name for the Table 1 items, read from the default catalogue.

    Every name also maps to itself, so a request may name the item directly.
    """
    names = {name: name for name in ITEMS}
    names.update(DEMO_CODES)
    try:
        document = tomllib.loads(catalogue.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return names
    for table in _tables(document):
        code, name = table.get("code"), table.get("name")
        if isinstance(code, str) and name in ITEMS:
            names[code] = str(name)
    return names


def _tables(value: object) -> List[Dict[str, object]]:
    if isinstance(value, dict):
        return [value, *(t for v in value.values() for t in _tables(v))]
    if isinstance(value, list):
        return [t for v in value for t in _tables(v)]
    return []
