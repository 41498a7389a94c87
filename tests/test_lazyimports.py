"""The daemon starts without OpenCV, NumPy or aiohttp, and loads each on first use."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading

import pytest

from govkiosk import lazyimports


def _run(code: str) -> dict:
    """Runs ``code`` in a fresh interpreter (this one has the libraries imported already)."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_daemon_module_imports_none_of_the_heavy_libraries() -> None:
    state = _run(
        """
        import json, sys
        import govkiosk.app
        from govkiosk import lazyimports
        print(json.dumps({n: lazyimports.loaded(n) for n in lazyimports.DEFERRED}))
        """
    )
    assert state == {"cv2": False, "numpy": False, "aiohttp": False}


def test_the_first_use_loads_the_real_library_for_every_importer() -> None:
    state = _run(
        """
        import json, sys
        import govkiosk.app
        from govkiosk import lazyimports
        from govkiosk.docscan import page
        import cv2, numpy
        image = numpy.zeros((8, 8, 3), numpy.uint8)
        ok, jpeg = page.cv2.imencode(".jpg", image)
        print(json.dumps({
            "ok": bool(ok),
            "cv2": lazyimports.loaded("cv2"),
            "real": type(sys.modules["numpy"]).__name__,
            "same_ndarray": page.np.ndarray is sys.modules["numpy"].ndarray,
        }))
        """
    )
    assert state == {"ok": True, "cv2": True, "real": "module", "same_ndarray": True}


def test_a_missing_library_raises_at_first_use_and_again_after() -> None:
    module = lazyimports.DeferredModule("govkiosk_no_such_library")
    sys.modules[module.__name__] = module
    try:
        for _ in range(2):
            with pytest.raises(ModuleNotFoundError):
                module.anything  # noqa: B018 - the read is what loads
        assert sys.modules[module.__name__] is module
    finally:
        del sys.modules[module.__name__]


def test_threads_racing_for_the_first_use_load_it_once() -> None:
    name = "json.tool"  # small, and not imported by the test run
    sys.modules.pop(name, None)
    module = lazyimports.DeferredModule(name)
    sys.modules[name] = module
    seen = []
    start = threading.Barrier(4)

    def use() -> None:
        start.wait()
        seen.append(module.main)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4
    assert len({id(f) for f in seen}) == 1
    assert lazyimports.loaded(name)
    assert sys.modules[name] is not module
