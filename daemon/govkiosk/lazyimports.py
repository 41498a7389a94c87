"""Heavy libraries the daemon loads on first use, not at start: :data:`DEFERRED`.

OpenCV and NumPy cost the daemon about 30 MB of RSS and a third of a second at start,
yet only a session that looks through a camera, checks a face or a page, or a check of
promotion pictures needs them. :func:`defer` puts a stand-in module for each into
``sys.modules``: every ``import cv2`` / ``import numpy as np`` in the daemon binds the
stand-in, and the first attribute read from it imports the real library (once, under a
lock: a capture thread and the loop may be first at the same time) and copies its
attributes into the stand-in, so later reads cost what a module's do.

Only the daemon defers (:mod:`govkiosk.app` imports this module before anything else);
other programs and the tests import the libraries as usual. A library already imported
is left as it is.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import types
from typing import Any, Optional, Tuple

#: What the daemon defers: the libraries only camera, face and page features use.
DEFERRED: Tuple[str, ...] = ("cv2", "numpy", "aiohttp")

_LOCK = threading.RLock()
_LOGGER = logging.getLogger(__name__)


class DeferredModule(types.ModuleType):
    """Stands in for a library not imported yet; imports it on the first attribute read."""

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.load(), attribute)

    def load(self) -> types.ModuleType:
        """The real module, imported now if it was not yet."""
        with _LOCK:
            real = self.__dict__.get("_deferred_real")
            if real is None:
                name = self.__name__
                if sys.modules.get(name) is self:
                    del sys.modules[name]
                try:
                    real = importlib.import_module(name)
                except BaseException:
                    sys.modules.setdefault(name, self)
                    raise
                attributes = dict(vars(real))
                for key in ("__name__", "__spec__", "__loader__"):
                    attributes.pop(key, None)
                self.__dict__.update(attributes)
                self.__dict__["_deferred_real"] = real
                _LOGGER.info("lazyimports: %s imported, first used by %s", name, _user())
            return real


def _user() -> str:
    """``module:line`` of the first frame outside this module and the import system."""
    frame: Optional[types.FrameType] = sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module != __name__ and not module.startswith(("importlib", "_frozen_importlib")):
            return f"{module}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"


def defer(*names: str) -> None:
    """Stand-ins for ``names`` (default :data:`DEFERRED`) not imported yet."""
    for name in names or DEFERRED:
        if name not in sys.modules:
            sys.modules[name] = DeferredModule(name)


def loaded(name: str) -> bool:
    """Whether ``name`` is really imported (not a stand-in still waiting)."""
    module = sys.modules.get(name)
    if isinstance(module, DeferredModule):
        return "_deferred_real" in module.__dict__
    return module is not None


# Importing this module is what defers them (govkiosk.app imports it first).
defer()
