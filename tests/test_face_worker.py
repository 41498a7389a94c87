"""The face worker process: the model once per process, the vendor library inside it, a
crash or a hang fails one call and the next call gets a new worker."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import AsyncIterator

import numpy as np
import pytest
import pytest_asyncio

from govkiosk.devices.camera.scenes import render
from govkiosk.faceverify.analysis import FrameRequest
from govkiosk.faceverify.errors import (
    FaceError,
    ModelError,
    PhotoError,
    WorkerCrashed,
    WorkerTimeout,
)
from govkiosk.faceverify.model import distance
from govkiosk.faceverify.photo import SimulatedDecoder
from govkiosk.faceverify.settings import FaceSettings
from govkiosk.faceverify.worker import FaceWorker
from harness.faces import card, scene, vendor_library

pytestmark = pytest.mark.asyncio(loop_scope="module")

PHOTO = bytes(1024)


class Holder:
    def __init__(self, settings: FaceSettings) -> None:
        self.settings = settings

    def __call__(self) -> FaceSettings:
        return self.settings


@pytest.fixture(scope="module")
def fifo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the stand-in library says it is inside a call (its ``WLT_STUB_FIFO``)."""
    path = tmp_path_factory.mktemp("fifo") / "inside"
    os.mkfifo(path)
    return path


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Holder:
    pixels = SimulatedDecoder().decode(card("obama2.jpg"))
    library = vendor_library(tmp_path_factory.mktemp("vendor"), pixels)
    return Holder(FaceSettings(decoder="vendor", vendor_library=str(library), call_timeout=20))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def worker(settings: Holder, fifo: Path) -> AsyncIterator[FaceWorker]:
    saved = os.environ.get("WLT_STUB_FIFO")
    os.environ["WLT_STUB_FIFO"] = str(fifo)  # the spawned workers inherit it
    face = FaceWorker(settings)
    try:
        await face.start()
        yield face
    finally:
        await face.close()
        if saved is None:
            del os.environ["WLT_STUB_FIFO"]
        else:
            os.environ["WLT_STUB_FIFO"] = saved


def _inside(fifo: Path) -> bytes:
    with open(fifo, "rb") as reader:  # blocks until the library opens it for writing
        return reader.read(1)


async def test_the_worker_answers_and_reports_its_memory(worker: FaceWorker) -> None:
    pid = await worker.ping()
    assert pid == worker.pid
    assert pid != os.getpid()
    rss = worker.rss()
    assert rss is not None
    assert rss > 50 * 2**20  # the model is loaded: tens of megabytes


async def test_the_vendor_library_runs_in_the_worker(worker: FaceWorker, settings: Holder) -> None:
    through_vendor = await worker.card_embedding(PHOTO, settings())
    simulated = FaceSettings(decoder="simulated", allow_simulated=True)
    through_sim = await worker.card_embedding(card("obama2.jpg"), simulated)
    assert distance(through_vendor, through_sim) < 0.01  # the same pixels, the same face
    assert through_vendor.shape == (128,)


async def test_the_vendor_librarys_refusal_arrives_as_a_photo_error(
    worker: FaceWorker, settings: Holder
) -> None:
    with pytest.raises(PhotoError, match=r"unpack\(\) returned -3"):
        await worker.card_embedding(b"FAIL" + bytes(1020), settings())
    with pytest.raises(FaceError, match="no method 'format_disk'"):
        await worker.call("format_disk")
    assert await worker.ping() == worker.pid  # the same worker goes on


async def test_a_worker_killed_mid_call(worker: FaceWorker, settings: Holder, fifo: Path) -> None:
    loop = asyncio.get_running_loop()
    before, starts = worker.pid, worker.starts
    assert before is not None
    call = asyncio.ensure_future(worker.card_embedding(b"HANG" + bytes(1020), settings()))
    assert await loop.run_in_executor(None, _inside, fifo) == b"!"
    os.kill(before, signal.SIGKILL)
    with pytest.raises(WorkerCrashed, match=r"died during card \(killed by SIGKILL\)"):
        await call
    assert worker.pid is None
    after = await worker.ping()
    assert after != before
    assert worker.starts == starts + 1


async def test_a_native_crash_in_the_vendor_library(
    worker: FaceWorker, settings: Holder, fifo: Path
) -> None:
    loop = asyncio.get_running_loop()
    call = asyncio.ensure_future(worker.card_embedding(b"BOOM" + bytes(1020), settings()))
    await loop.run_in_executor(None, _inside, fifo)
    with pytest.raises(WorkerCrashed, match="SIGSEGV"):
        await call
    assert len(await worker.card_embedding(PHOTO, settings())) == 128


async def test_a_hung_call_is_cut_at_its_time_limit(
    worker: FaceWorker, settings: Holder, fifo: Path
) -> None:
    loop = asyncio.get_running_loop()
    before = await worker.ping()
    call = asyncio.ensure_future(
        worker.call("card", b"HANG" + bytes(1020), settings(), timeout=0.5)
    )
    await loop.run_in_executor(None, _inside, fifo)
    with pytest.raises(WorkerTimeout, match=r"longer than 0\.5 s over card"):
        await call
    assert await worker.ping() != before


async def test_a_cancelled_call_leaves_no_stray_answer(worker: FaceWorker) -> None:
    rgb, ir = render(scene("obama.jpg"), 1.0, __import__("random").Random(1))
    call = asyncio.ensure_future(worker.analyse(FrameRequest(rgb, ir, 140, embed=True)))
    await asyncio.sleep(0)  # the request is on its way
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await worker.ping() == worker.pid  # the ping's answer, not the frame's


async def test_large_frames_are_scaled_down_before_they_are_sent(worker: FaceWorker) -> None:
    rgb, ir = render(scene("biden.jpg"), 1.0, __import__("random").Random(1))
    big = np.repeat(np.repeat(rgb, 2, axis=0), 2, axis=1)  # 1280×960
    report = await worker.analyse(FrameRequest(big, ir, 140))
    assert report.hint is None
    assert report.box is not None
    x, y, w, h = report.box
    assert x + w <= 640
    assert y + h <= 480
    assert report.ir is not None
    assert report.ir.found


async def test_missing_weights_fail_the_start_and_a_fix_restarts(
    worker: FaceWorker, settings: Holder, tmp_path: Path
) -> None:
    good = settings.settings
    settings.settings = FaceSettings(model_dir=str(tmp_path))
    try:
        with pytest.raises(ModelError, match="no such file"):
            await worker.ping()
    finally:
        settings.settings = good
    assert await worker.ping() == worker.pid


LAUNCHER = """
import asyncio, sys
with open(sys.argv[1], "a") as runs:  # every run of this file's top level
    runs.write("run\\n")
from govkiosk.faceverify.settings import FaceSettings
from govkiosk.faceverify.worker import FaceWorker

async def main():
    worker = FaceWorker(FaceSettings)
    pid = await worker.ping()
    await worker.close()
    return pid

print(asyncio.run(main()))
"""


async def test_an_unguarded_main_script_is_not_run_again_in_the_worker(tmp_path: Path) -> None:
    """The installed launchers call main() at their top level, with no __main__ guard;
    spawn would run them again in the worker (a second daemon)."""
    script = tmp_path / "launcher.py"
    script.write_text(LAUNCHER, encoding="utf-8")
    runs = tmp_path / "runs"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        str(runs),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert int(out.decode().strip()) > 0  # the worker's pid
    assert runs.read_text(encoding="utf-8") == "run\n"


async def test_a_closed_worker_starts_again_when_called(settings: Holder) -> None:
    """The face service closes its worker when it stops and the supervisor starts it again."""
    face = FaceWorker(settings)
    try:
        first = await face.ping()
        await face.close()
        assert face.pid is None
        assert await face.ping() != first
        assert face.starts == 2
    finally:
        await face.close()
