"""The window as drawn, dialogs included, as a PNG: for screenshots and ops' remote look.

``Widget.export_as_image`` draws one widget's canvas: a dialog (a ``ModalView``) is a
second child of the window, not of the root, and would be missing. This draws every
child of the window, bottom first, into one offscreen framebuffer, as the window does.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any, List, Tuple

from kivy.core.image import Image as CoreImage
from kivy.core.window import Window
from kivy.graphics import ClearBuffers, ClearColor, Fbo, Scale, Translate


def window_png() -> bytes:
    width, height = (int(v) for v in Window.size)
    fbo = Fbo(size=(width, height), with_stencilbuffer=True)
    with fbo:
        ClearColor(0, 0, 0, 1)
        ClearBuffers()
        Scale(1, -1, 1)  # the framebuffer's rows come out top first in the PNG
        Translate(0, -height, 0)
    moved: List[Tuple[Any, int]] = []
    try:
        for child in reversed(Window.children):  # children[0] is the topmost
            index = Window.canvas.indexof(child.canvas)
            if index < 0:
                continue
            Window.canvas.remove(child.canvas)
            moved.append((child.canvas, index))
            fbo.add(child.canvas)
        fbo.draw()
        image = CoreImage(fbo.texture)
    finally:
        for canvas, index in reversed(moved):  # undone in reverse: each index holds again
            fbo.remove(canvas)
            Window.canvas.insert(index, canvas)
    png = BytesIO()
    image.save(png, fmt="png")
    return png.getvalue()
