"""The UI's gettext catalogues: complete, in step with the sources, switchable at run time."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Set

from govkiosk_ui import i18n

PACKAGE = Path(i18n.__file__).parent
POT = PACKAGE / "locale" / "govkiosk_ui.pot"


def msgids(catalogue: str) -> Set[str]:
    return set(re.findall(r'^msgid "(.+)"$', catalogue, re.M))


def test_the_template_lists_every_message_in_the_sources(tmp_path: Path) -> None:
    """`make pot` was run after the last change of a message (xgettext reads .py and .kv)."""
    sources = sorted(
        str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*") if p.suffix in (".py", ".kv")
    )
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [
            "xgettext",
            "-L",
            "Python",
            "-k_",
            "-kN_",
            "--from-code=UTF-8",
            "--no-wrap",
            "-o",
            str(fresh),
            *sources,
        ],
        cwd=PACKAGE,
        check=True,
        timeout=30,
    )
    assert msgids(fresh.read_text(encoding="utf-8")) == msgids(POT.read_text(encoding="utf-8"))


def test_chinese_translates_every_message() -> None:
    po = (PACKAGE / "locale" / "zh_CN" / "LC_MESSAGES" / "govkiosk_ui.po").read_text(
        encoding="utf-8"
    )
    untranslated = re.findall(r'^msgid "(.+)"\nmsgstr ""$', po, re.M)
    assert untranslated == []
    assert "#, fuzzy" not in po
    assert msgids(po) == msgids(POT.read_text(encoding="utf-8"))


def test_compiled_catalogues_switch_at_run_time() -> None:
    heard = []
    i18n.on_language_change(heard.append)
    try:
        assert i18n._("Please take your documents and your ID card") == "请取走您的材料和身份证"
        i18n.set_language("en")
        assert i18n._("Please take your documents and your ID card") == (
            "Please take your documents and your ID card"
        )
        assert i18n._("devices ok") == "OK"  # English has its own wording where it helps
        assert heard == ["en"]
    finally:
        i18n.set_language(i18n.DEFAULT_LANGUAGE)
