"""Translations in the gettext manner: ``_("English text")`` returns the current language's.

Chinese (zh_CN) is the default: the kiosks serve Chinese-speaking citizens first. The
message ids are English, so a missing translation degrades to readable English rather
than to a key. Catalogues are Python dictionaries while the UI is small; when the
citizen screens grow, they move to ``locale/<lang>/LC_MESSAGES/govkiosk_ui.po`` files
with the same ids, and only this module changes.
"""

from __future__ import annotations

import datetime
from typing import Dict, Tuple

LANGUAGES: Tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"

_CATALOGUES: Dict[str, Dict[str, str]] = {
    "zh_CN": {
        "Government Service Kiosk": "政务服务一体机",
        "Welcome": "欢迎使用",
        "Self-service items will be available here soon": "自助办理事项即将在此开放",
        "For help, please ask the staff on site": "如需帮助，请联系现场工作人员",
        "Kiosk {kiosk_id}": "终端编号 {kiosk_id}",
        "{running}/{total} services running": "{running}/{total} 项服务运行中",
        "Connecting…": "正在连接服务…",
        "Service unavailable": "服务暂不可用",
        "Service temporarily unavailable": "服务暂不可用",
        "The system is recovering by itself. Please wait a moment.": "系统正在自动恢复，请稍候",
        "If this lasts, please ask the staff on site for help.": (
            "如长时间未恢复，请联系现场工作人员"
        ),
        "Monday": "星期一",
        "Tuesday": "星期二",
        "Wednesday": "星期三",
        "Thursday": "星期四",
        "Friday": "星期五",
        "Saturday": "星期六",
        "Sunday": "星期日",
        "{year}-{month:02d}-{day:02d}": "{year}年{month}月{day}日",
    },
    "en": {},
}

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_language = DEFAULT_LANGUAGE


def set_language(language: str) -> None:
    global _language  # noqa: PLW0603 - one UI language per process, chosen at start
    if language not in _CATALOGUES:
        raise ValueError(f"unsupported language {language!r}; choose one of {LANGUAGES}")
    _language = language


def language() -> str:
    return _language


def _(msgid: str) -> str:
    return _CATALOGUES[_language].get(msgid, msgid)


def in_english(msgid: str) -> str:
    """The English line shown under a Chinese notice, or ``""`` when the UI is English.

    Notices a foreign visitor must understand too (the service is down) are bilingual.
    """
    return "" if _language == "en" else msgid


def clock_text(now: datetime.datetime) -> str:
    """Date, weekday and time as the status bar shows them: 2025年3月7日  星期五  09:05."""
    date = _("{year}-{month:02d}-{day:02d}").format(year=now.year, month=now.month, day=now.day)
    return f"{date}  {_(WEEKDAYS[now.weekday()])}  {now:%H:%M}"
