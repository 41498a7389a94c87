"""The right-side quick menu (§7.3): frequent items, help, voice, large text, language.

It holds no "home": the navigation bar has it, and a second one beside a step's own
main button would compete with it in the natural bottom-right tap spot.

Its buttons only call the app; what they switch lives in the app's properties, which
the menu shows in words ("语音 开"), never by colour alone.
"""

from __future__ import annotations

from .surface import Surface


class QuickMenu(Surface):
    pass
