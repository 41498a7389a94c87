"""Translations with gettext, switchable while the UI runs (zh_CN by default, en).

The message ids are English, so a missing translation degrades to readable English
rather than to a key. Catalogues are ``locale/<lang>/LC_MESSAGES/govkiosk_ui.po``,
compiled to ``.mo`` by ``make locale`` (part of ``make setup``).

No Kivy here: the command line and the tests use this module before Kivy may be
imported. kv rules bind through :mod:`.translator`; Python code calls :func:`_` and
re-renders from :func:`on_language_change`.
"""

from __future__ import annotations

import datetime
import gettext
import logging
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from .errors import UiError

_LOGGER = logging.getLogger(__name__)

DOMAIN = "govkiosk_ui"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: Tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"


def N_(msgid: str) -> str:
    """Marks a message id translated later (where it is shown), so ``make pot`` finds it."""
    return msgid


WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)


class CatalogueMissingError(UiError):
    """A language's compiled catalogue is not installed."""


def load_catalogue(language: str) -> gettext.NullTranslations:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; choose one of {LANGUAGES}")
    try:
        return gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[language])
    except OSError as err:
        raise CatalogueMissingError(
            f"no compiled catalogue for {language} in {LOCALE_DIR}; run `make locale`"
        ) from err


#: One UI language per process, switched at the citizen's request; loaded on first use.
_current: Dict[str, gettext.NullTranslations] = {}
_LISTENERS: List[Callable[[str], None]] = []


def _catalogue() -> gettext.NullTranslations:
    if not _current:
        _current[DEFAULT_LANGUAGE] = load_catalogue(DEFAULT_LANGUAGE)
    return next(iter(_current.values()))


def _(msgid: str) -> str:
    return _catalogue().gettext(msgid)


def language() -> str:
    return next(iter(_current), DEFAULT_LANGUAGE)


def set_language(name: str) -> None:
    catalogue = load_catalogue(name)
    changed = name != language()
    _current.clear()
    _current[name] = catalogue
    if changed:
        _LOGGER.info("language: %s", name)
        for listener in list(_LISTENERS):
            listener(name)


def on_language_change(listener: Callable[[str], None]) -> None:
    """Call ``listener(language)`` after every switch."""
    _LISTENERS.append(listener)


def clock_text(now: datetime.datetime) -> str:
    """Date, weekday and time as the navigation bar shows them: 2025年3月7日  星期五  09:05."""
    # xgettext: no-python-brace-format (the Chinese date drops the zero padding)
    date = _("{year}-{month:02d}-{day:02d}").format(year=now.year, month=now.month, day=now.day)
    return f"{date}  {_(WEEKDAYS[now.weekday()])}  {now:%H:%M}"
