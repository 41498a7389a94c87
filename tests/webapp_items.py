"""Web-app catalogue entries for the bridge and session tests."""

from __future__ import annotations

from typing import Any, Dict

from govkiosk.items.catalogue import Item, item_from_document

ORIGIN = "https://apps.example.gov.cn"


def webapp_document(code: str = "web_test", **webapp: Any) -> Dict[str, Any]:
    manifest: Dict[str, Any] = {
        "url": f"{ORIGIN}/sbqd/index.html",
        "origins": [ORIGIN],
        "fields": ["name", "id_number"],
        "devices": ["idcard", "print_a4", "print_receipt", "speech"],
        "time_limit": 300.0,
        "max_pages": 5,
    }
    manifest.update(webapp)
    return {
        "code": code,
        "name": "社保参保证明打印（网页版）",
        "department": "人社",
        "category": "社会保障",
        "applicant_type": "natural_person",
        "conditions": ["本人持有效身份证件"],
        "materials": ["居民身份证"],
        "result_type": "certificate_print",
        "regions": ["230100"],
        "kind": "webapp",
        "webapp": manifest,
    }


def webapp_item(code: str = "web_test", **webapp: Any) -> Item:
    return item_from_document(webapp_document(code, **webapp), "test")


def webapp_toml(code: str = "web_test", devices: str = "", extra: str = "") -> str:
    """The item as a catalogue file's ``[[items]]`` entry."""
    devices = devices or '"idcard", "print_a4", "print_receipt", "qrscanner", "speech"'
    return f"""
[[items]]
code = "{code}"
name = "社保参保证明打印（网页版）"
department = "人社"
category = "社会保障"
applicant_type = "natural_person"
conditions = ["本人持有效身份证件"]
materials = ["居民身份证"]
result_type = "certificate_print"
regions = ["230100"]
kind = "webapp"

[items.webapp]
url = "{ORIGIN}/sbqd/index.html"
origins = ["{ORIGIN}"]
fields = ["name", "id_number"]
devices = [{devices}]
time_limit = 300.0
max_pages = 3
{extra}
"""
