"""Chinese line breaking: what a label's reflow costs with the kiosk's real font.

``textflow.break_lines`` measured by a Kivy core label (the CJK font the UI registers,
24 px, as body text at scale 1): the item screen's columns (conditions, materials,
steps) at a column's width, cold (each piece measured once per call), and a long
text (the conditions ×100, 9,400 characters). ``measure_calls`` is how many times
the font was asked per item-screen flow. ``FlowingText`` keeps each label's result by
(width, font), so a layout pass that repeats a width costs none of this. No window is
opened: Kivy's text provider measures without one.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from typing import Any, Callable, Dict, List

CONDITIONS = (
    "申请人为年满 16 周岁的中国公民，本人持有效居民身份证到一体机办理",
    "证明内容为申请人在中华人民共和国境内（不含港澳台地区）有无犯罪记录",
    "不得代他人申请；用于出国（境）的，请到公安机关窗口办理",
)
MATERIALS = ("本人有效居民身份证原件",)
STEPS = tuple(
    f"{n}. {s}"
    for n, s in enumerate(
        (
            "读取身份证",
            "人脸核验",
            "同意查询",
            "查询办理结果",
            "核验电子印章",
            "预览核对",
            "打印材料",
            "打印凭条",
            "取走材料和身份证",
        ),
        start=1,
    )
)
WIDTH = 260.0
ROUNDS = 30


def _measure() -> Callable[[str], float]:
    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="bench-textflow-"))
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    from govkiosk_ui import fonts  # noqa: PLC0415 - Kivy reads its settings on import

    fonts.register(fonts.find_cjk_font())
    from kivy.core.text import Label as CoreLabel  # noqa: PLC0415

    core = CoreLabel(font_size=24)
    return lambda text: float(core.get_extents(text)[0])


def _timed(work: Callable[[], Any], rounds: int) -> List[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def run() -> Dict[str, Any]:
    from govkiosk_ui.textflow import break_lines  # noqa: PLC0415

    font = _measure()
    calls = 0

    def counted(text: str) -> float:
        nonlocal calls
        calls += 1
        return font(text)

    texts = CONDITIONS + MATERIALS + STEPS

    def item_screen() -> None:
        for text in texts:
            break_lines(text, WIDTH, counted)

    item = _timed(item_screen, ROUNDS)
    per_flow_calls = calls // ROUNDS
    long_text = "".join(CONDITIONS) * 100
    long = _timed(lambda: break_lines(long_text, WIDTH, font), 5)
    return {
        "font_px": 24,
        "column_px": WIDTH,
        "item_screen_labels": len(texts),
        "item_screen_ms_median": round(statistics.median(item), 2),
        "item_screen_ms_max": round(max(item), 2),
        "measure_calls": per_flow_calls,
        "long_text_chars": len(long_text),
        "long_text_ms_median": round(statistics.median(long), 1),
    }
