"""``tr._("Text")`` for kv rules, re-evaluated when the language changes.

:class:`Translator` is a Kivy ``Observable`` that accepts bindings to ``_``: a kv rule
that calls ``tr._`` binds to it, and a language switch calls every such rule again
(the technique of Kivy's multilingual example). ``unbind_uid`` drops the binding of a
widget that goes away, so screens rebuilt over days do not accumulate them.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Dict, Tuple

from kivy.event import Observable

from . import i18n

Binding = Tuple[Callable[..., Any], Tuple[Any, ...]]


class Translator(Observable):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self._bindings: Dict[int, Binding] = {}
        self._uids = itertools.count(1)
        i18n.on_language_change(self._switched)

    def _(self, msgid: str) -> str:
        return i18n._(msgid)

    def fbind(self, name: str, func: Callable[..., Any], *largs: Any, **_kwargs: Any) -> int:
        if name != "_":
            return 0  # nothing else here changes
        uid = next(self._uids)
        self._bindings[uid] = (func, largs)
        return uid

    def unbind_uid(self, name: str, uid: int) -> None:
        if name == "_":
            self._bindings.pop(uid, None)

    def _switched(self, _language: str) -> None:
        for uid, (func, largs) in list(self._bindings.items()):
            try:
                func(*largs, self, None)
            except ReferenceError:  # the widget is gone; its rule goes with it
                self._bindings.pop(uid, None)


tr = Translator()
