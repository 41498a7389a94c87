"""The item catalogue: the default Table 1 items, and precise errors for bad files (§7.1.1)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.items.catalogue import (
    default_catalogue,
    item_document,
    item_from_document,
    load_catalogue,
    parse_catalogue,
)
from govkiosk.items.errors import CatalogueFileError

#: Table 1 as published: row, department (类型), name, print type. Row 6 is missing.
TABLE_1 = [
    (1, "公安", "无犯罪记录证明", "certificate_print"),
    (2, "公安", "身份证打印", "elicence_print"),
    (3, "公安", "户口本打印", "elicence_print"),
    (4, "人社", "个人参保缴费记录打印", "certificate_print"),
    (5, "人社", "养老保险参保凭证打印", "certificate_print"),
    (7, "人社", "享受养老保险待遇证明", "certificate_print"),
    (8, "人社", "社保清单打印", "certificate_print"),
]

ITEM: Dict[str, Any] = {
    "code": "test_item",
    "name": "测试事项",
    "department": "公安",
    "category": "证明开具",
    "applicant_type": "natural_person",
    "conditions": ["本人持有效居民身份证办理"],
    "materials": ["本人有效居民身份证原件"],
    "steps": ["identity", "consent", "query", "verify_seal", "preview", "print_a4", "done"],
    "result_type": "certificate_print",
    "regions": ["230000"],
    "printing": {"a4_pages": 1, "receipt": False},
}


def item(**changes: Any) -> Dict[str, Any]:
    table = copy.deepcopy(ITEM)
    for key, value in changes.items():
        if value is None:
            del table[key]
        else:
            table[key] = value
    return table


def problems(document: Dict[str, Any]) -> str:
    with pytest.raises(CatalogueFileError) as caught:
        parse_catalogue(document, "cat.toml")
    return str(caught.value)


def test_default_catalogue_is_table_1_with_names_exactly_as_published() -> None:
    catalogue = default_catalogue()
    assert [
        (i.standard_row, i.department, i.name, i.result_type) for i in catalogue.items
    ] == TABLE_1


def test_default_items_are_complete_and_served() -> None:
    for entry in default_catalogue().items:
        assert entry.state == "published"
        assert entry.version == 1
        assert entry.applicant_type == "natural_person"
        assert entry.conditions
        assert entry.materials
        assert entry.steps[0] == "identity"
        assert entry.steps[-1] == "done"
        assert entry.printing.a4_pages >= 1
        assert entry.en is not None
        assert entry.text("en").name == entry.en.name
        assert "230000" in entry.regions


def test_cross_province_item_lists_other_provinces() -> None:
    catalogue = default_catalogue()
    record = catalogue.get("contribution_record_print")
    assert record is not None
    assert record.cross_province
    assert record.provinces == {"23", "22", "21", "15"}
    assert [i.code for i in catalogue.items if i.cross_province] == ["contribution_record_print"]


def test_non_default_timeouts_and_print_spec() -> None:
    catalogue = default_catalogue()
    wfz = catalogue.get("no_criminal_record")
    card = catalogue.get("id_card_print")
    assert wfz is not None
    assert card is not None
    assert wfz.timeouts.get("query") == 60.0
    assert wfz.timeouts.get("preview") is None
    assert (wfz.printing.receipt, wfz.printing.receipt_template) == (True, "certificate")
    assert card.printing.receipt is False
    assert "print_receipt" not in card.steps


def test_english_text_falls_back_to_chinese_where_not_translated() -> None:
    entry = parse_catalogue({"items": [item(en={"name": "Test item"})]}, "cat.toml").items[0]
    assert entry.text("en").name == "Test item"
    assert entry.text("en").conditions == ("本人持有效居民身份证办理",)
    assert entry.text("zh_CN").name == "测试事项"


def test_every_default_and_demo_item_has_its_tile_icon_and_notice_in_both_languages() -> None:
    demo = load_catalogue(Path(__file__).resolve().parents[1] / "config" / "demo-items.toml")
    for entry in (*default_catalogue().items, *demo.items):
        assert entry.en is not None
        assert entry.summary, entry.code
        assert entry.en.summary, entry.code
        assert entry.summary != entry.category  # plain words, not the department's term
        assert entry.icon is not None
        assert entry.icon == entry.shown_icon
        for language in ("zh_CN", "en"):
            notice = entry.consent_text(language)
            assert notice is not None
            assert notice.data
            assert notice.source
            assert notice.purpose
            assert notice.retention == "none"
        # Given in the file, not derived: each item says what it queries.
        assert entry.consent.data, entry.code
        assert entry.en.consent.data, entry.code
    record = default_catalogue().get("no_criminal_record")
    assert record is not None
    assert record.summary == "开具本人无犯罪记录的证明"
    assert "违法犯罪记录" in record.consent.data
    assert record.consent.source == "公安机关"
    card = default_catalogue().get("id_card_print")
    assert card is not None
    assert card.summary == "打印本人居民身份证电子照"


def test_icon_and_consent_are_derived_from_the_department_when_absent() -> None:
    police, social, other = parse_catalogue(
        {
            "items": [
                item(code="a", en={"name": "Item A"}),
                item(code="b", department="人社"),
                item(code="c", department="档案馆", en={"name": "C", "department": "Archives"}),
            ]
        },
        "cat.toml",
    ).items
    assert (police.shown_icon, social.shown_icon, other.shown_icon) == (
        "police",
        "social_security",
        "generic",
    )
    zh = police.consent_text("zh_CN")
    assert zh is not None
    assert zh.source == "公安机关"
    assert zh.data == ("办理“测试事项”所需的本人信息",)
    assert zh.purpose == "为您办理“测试事项”"
    en = police.consent_text("en")
    assert en is not None
    assert (en.source, en.purpose) == ("The public security authorities", "To provide: Item A")
    assert social.consent_text("en") is None  # no English: the UI shows the Chinese
    other_zh, other_en = other.consent_text("zh_CN"), other.consent_text("en")
    assert other_zh is not None
    assert other_en is not None
    assert (other_zh.source, other_en.source) == ("档案馆", "Archives")
    assert police.text("en").summary == ""  # none given: the UI shows no subtitle


def test_items_survive_their_document_form() -> None:
    for entry in default_catalogue().items:
        assert item_from_document(item_document(entry), "copy") == entry


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"items": []}, "cat.toml: items: expected a list of at least one item"),
        (
            {"items": [ITEM], "version": 2},
            "cat.toml: version: unknown key (known keys: items)",
        ),
        ({"items": [3]}, "cat.toml: items[0]: expected a table"),
        (
            {"items": [item(name=None)]},
            'cat.toml: items[0] (code "test_item"): name: required, expected the item\'s published name',
        ),
        (
            {"items": [item(colour="red")]},
            'cat.toml: items[0] (code "test_item"): colour: unknown key (known keys: applicant_type,'
            " captures, category, code, conditions, consent, department, document, en, icon,"
            " identity, kind, materials, name, printing, regions,"
            " result_type, standard_row, state, steps, summary, timeouts, version, webapp)",
        ),
        (
            {"items": [item(code="bad code")]},
            'cat.toml: items[0] (code "bad code"): code: expected an item code of 1-64 letters,'
            " digits, '_', '.' or '-', got \"bad code\"",
        ),
        (
            {"items": [item(applicant_type="citizen")]},
            'cat.toml: items[0] (code "test_item"): applicant_type: expected "natural_person" or'
            ' "legal_person", got "citizen"',
        ),
        (
            {"items": [item(steps=["identity", "scan", "done"])]},
            'cat.toml: items[0] (code "test_item"): steps.1: expected "identity" or "face_verify" or'
            ' "consent" or "capture_materials" or "query" or "verify_seal" or "preview" or "print_a4" or "print_receipt" or "done",'
            ' got "scan"',
        ),
        (
            {"items": [item(conditions=[])]},
            'cat.toml: items[0] (code "test_item"): conditions: expected a list of at least one'
            " condition (办理条件), got a list",
        ),
        (
            {"items": [item(regions=["2300"])]},
            'cat.toml: items[0] (code "test_item"): regions: expected a list of six-digit'
            " administrative division codes, got a list",
        ),
        (
            {"items": [item(timeouts={"query": -1})]},
            'cat.toml: items[0] (code "test_item"): timeouts.query: expected a number of seconds'
            " > 0, got -1",
        ),
        (
            {
                "items": [
                    item(steps=["query", "identity", "verify_seal", "preview", "print_a4", "done"])
                ]
            },
            'cat.toml: items[0] (code "test_item"): steps: expected each step once, in the order'
            " identity, face_verify, consent, capture_materials, query, verify_seal, preview, print_a4, print_receipt, done",
        ),
        (
            {"items": [item(steps=["identity", "verify_seal", "preview", "print_a4"])]},
            'cat.toml: items[0] (code "test_item"): steps: every flow needs the steps query, done',
        ),
        (
            {"items": [item(steps=["identity", "query", "print_a4", "done"])]},
            'cat.toml: items[0] (code "test_item"): steps: print_a4 needs verify_seal before it'
            " (§7.2 a: sealed results)",
        ),
        (
            {"items": [item(printing={"a4_pages": 0, "receipt": False})]},
            'cat.toml: items[0] (code "test_item"): printing.a4_pages: must be > 0 exactly when'
            " the steps include print_a4",
        ),
        (
            {"items": [item(printing={"a4_pages": 1, "receipt": True})]},
            'cat.toml: items[0] (code "test_item"): printing.receipt: must be true exactly when'
            " the steps include print_receipt",
        ),
        (
            {"items": [item(timeouts={"print_receipt": 20})]},
            'cat.toml: items[0] (code "test_item"): timeouts.print_receipt: the item has no'
            " print_receipt step",
        ),
        (
            {"items": [ITEM, ITEM]},
            'cat.toml: items[1] (code "test_item"): code: duplicate of items[0]',
        ),
        (
            {"items": [item(icon="car")]},
            'cat.toml: items[0] (code "test_item"): icon: expected "police" or "social_security"'
            ' or "pension" or "medical" or "household" or "tax" or "housing" or "generic",'
            ' got "car"',
        ),
        (
            {"items": [item(summary="打印" * 16)]},
            'cat.toml: items[0] (code "test_item"): summary: expected a one-line plain-language'
            f' summary of 1-30 characters, got "{"打印" * 16}"',
        ),
        (
            {"items": [item(summary="第一行\n第二行")]},
            'cat.toml: items[0] (code "test_item"): summary: expected a one-line plain-language'
            ' summary of 1-30 characters, got "第一行\\n第二行"',
        ),
        (
            {"items": [item(consent={"data": ["违法犯罪记录", " "]})]},
            'cat.toml: items[0] (code "test_item"): consent.data: expected a list of what is'
            " queried (one line each), got a list",
        ),
        (
            {"items": [item(consent={"source": 3})]},
            'cat.toml: items[0] (code "test_item"): consent.source: expected who the data is'
            " queried from, on one line, got 3",
        ),
        (
            {"items": [item(consent={"retention": "30 days"})]},
            'cat.toml: items[0] (code "test_item"): consent.retention: unknown key (known keys:'
            " data, purpose, source)",
        ),
        (
            {"items": [item(en={"name": "Test", "summary": "x" * 61})]},
            'cat.toml: items[0] (code "test_item"): en.summary: expected a one-line'
            f' plain-language summary of 1-60 characters, got "{"x" * 61}"',
        ),
        (
            {"items": [item(en={"name": "Test", "consent": {"purpose": "  "}})]},
            'cat.toml: items[0] (code "test_item"): en.consent.purpose: expected why it is'
            ' queried, on one line, got "  "',
        ),
    ],
)
def test_bad_catalogue_documents_name_file_item_key_and_expectation(
    document: Dict[str, Any], expected: str
) -> None:
    assert problems(document) == expected


def test_every_problem_of_every_item_is_reported_at_once() -> None:
    document = {"items": [item(name=None), item(code="second"), item(code="third", regions=[])]}
    with pytest.raises(CatalogueFileError) as caught:
        parse_catalogue(document, "cat.toml")
    assert [(p.index, p.code, p.key) for p in caught.value.problems] == [
        (0, "test_item", "name"),
        (2, "third", "regions"),
    ]


def test_file_level_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(CatalogueFileError) as caught:
        load_catalogue(missing)
    assert str(caught.value) == f"{missing}: cannot be read: No such file or directory"

    latin = tmp_path / "latin.toml"
    latin.write_bytes("name = '证明'".encode("gb18030"))
    with pytest.raises(CatalogueFileError) as caught:
        load_catalogue(latin)
    assert str(caught.value) == f"{latin}: not valid TOML: the file is not UTF-8"

    broken = tmp_path / "broken.toml"
    broken.write_text("[[items]\ncode = 1\n", encoding="utf-8")
    with pytest.raises(CatalogueFileError) as caught:
        load_catalogue(broken)
    assert str(caught.value).startswith(f"{broken}: not valid TOML: ")


PRESENTATION_KEYS = ("summary", "icon", "consent")

TOML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.fuzz
@given(
    st.dictionaries(
        st.sampled_from([*sorted(ITEM), *PRESENTATION_KEYS]) | st.text(max_size=6),
        TOML_VALUES,
        max_size=len(ITEM) + 2,
    )
)
def test_fuzzed_items_give_catalogue_errors_or_items(table: Dict[str, Any]) -> None:
    document = {"items": [{**ITEM, **table}]}
    try:
        catalogue = parse_catalogue(document, "fuzz.toml")
    except CatalogueFileError as err:
        found = err.problems
    else:
        found = ()
        assert catalogue.items[0].code == document["items"][0]["code"]
    assert all(str(p).startswith("fuzz.toml: ") for p in found)


CONSENT_VALUES = st.dictionaries(
    st.sampled_from(["data", "source", "purpose"]) | st.text(max_size=6), TOML_VALUES, max_size=4
)


@pytest.mark.fuzz
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "summary": st.text(max_size=40) | TOML_VALUES,
            "icon": st.sampled_from(["police", "pension", "car", ""]) | TOML_VALUES,
            "consent": CONSENT_VALUES | TOML_VALUES,
            "en": st.fixed_dictionaries(
                {"name": st.just("E")},
                optional={"summary": st.text(max_size=70), "consent": CONSENT_VALUES},
            ),
        },
    )
)
def test_fuzzed_presentation_fields_give_errors_or_a_full_notice(table: Dict[str, Any]) -> None:
    try:
        entry = parse_catalogue({"items": [{**ITEM, **table}]}, "fuzz.toml").items[0]
    except CatalogueFileError as err:
        found = err.problems
    else:
        found = ()
    assert all(str(p).startswith("fuzz.toml: items[0]") for p in found)
    if found:
        return
    assert entry.shown_icon in ("police", "pension")
    notice = entry.consent_text("zh_CN")
    assert notice is not None
    assert notice.data
    assert notice.source
    assert notice.purpose
    assert "\n" not in entry.summary
    assert len(entry.summary) <= 30
