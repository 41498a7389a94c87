"""Camera simulator: MJPEG over HTTP on 127.0.0.1, what the driver reads through OpenCV.

The wire is what IP cameras and ``mjpg-streamer`` serve: ``GET /rgb`` answers
``multipart/x-mixed-replace; boundary=…`` with one JPEG per part, and OpenCV's FFmpeg
backend reads it with ``cv2.VideoCapture("http://127.0.0.1:PORT/rgb")`` — so the
driver's code path from ``VideoCapture`` on is the one a real camera takes. Streams:

- ``/rgb`` and ``/ir``: the binocular face camera, rendered in lockstep from one scene
  (:mod:`.scenes`: both show the same instant), or from a recording (image sequence or
  video, looping; the IR stream is then its grey).
- ``/doc``: the document camera, from a pluggable source ``(t) -> image`` (a still page
  by default: ``--page IMAGE``).

A stream renders only while somebody reads it. ``POST /control`` changes things while
it runs (form or query fields; the answer is the state as JSON)::

    scenario=live|photo|screen|nobody   what the face camera sees
    action=stall      frames stop, connections stay open (a hung camera)
    action=resume     frames flow again
    action=unplug     every stream ends and new ones are refused (503) until
    action=plug

``govkioskctl sim camera --scenario live --face me.jpg`` serves it and prints the
``[[devices.static]]`` entries that point the daemon at it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import importlib
import logging
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import cv2
import numpy as np
from aiohttp import web

from ...docscan.synthetic import DocScene
from . import scenes
from .settings import DOC, FACE_IR, FACE_RGB

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]

#: t (seconds since the simulator started) → the RGB and IR frames of that instant.
FaceSource = Callable[[float], Tuple["Image", "Image"]]
#: t → the document camera's frame.
PageSource = Callable[[float], "Image"]

BOUNDARY = "govkioskframe"
DOC_SIZE = (1920, 1080)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
#: stream path → the role it stands in for
STREAMS: Dict[str, str] = {"rgb": FACE_RGB, "ir": FACE_IR, "doc": DOC}

_LOGGER = logging.getLogger(__name__)


# -- sources ---------------------------------------------------------------------------


class SceneSource:
    """The face camera pair from a :class:`scenes.FaceScene`; the scenario can change."""

    def __init__(self, scene: scenes.FaceScene, seed: int = 0) -> None:
        self.scene = scene
        self._rng = random.Random(seed)

    @property
    def scenario(self) -> str:
        return self.scene.scenario

    @scenario.setter
    def scenario(self, value: str) -> None:
        self.scene = replace(self.scene, scenario=value)  # checked by FaceScene

    def __call__(self, t: float) -> Tuple[Image, Image]:
        return scenes.render(self.scene, t, self._rng)


class RecordingSource:
    """Frames of an image sequence or a video file, looping; IR is their grey."""

    def __init__(
        self, size: Tuple[int, int], fps: float, *, images: Sequence[str] = (), video: str = ""
    ) -> None:
        if not images and not video:
            raise ValueError("a recording needs images or a video")
        self.size = size
        self.fps = fps
        self._images = list(images)
        self._video = video
        self._capture: Any = None

    def __call__(self, t: float) -> Tuple[Image, Image]:
        image = self._image(t) if self._images else self._video_frame()
        rgb = _fit(image, self.size)
        return rgb, np.asarray(cv2.cvtColor(rgb, cv2.COLOR_BGR2GRAY), dtype=np.uint8)

    def _image(self, t: float) -> Image:
        path = self._images[int(t * self.fps) % len(self._images)]
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{path}: not an image")
        return np.asarray(image, dtype=np.uint8)

    def _video_frame(self) -> Image:
        for _attempt in range(2):
            if self._capture is None:
                self._capture = cv2.VideoCapture(self._video)
            ok, image = self._capture.read()
            if ok:
                return np.asarray(image, dtype=np.uint8)
            self._capture.release()  # the end: from the start again
            self._capture = None
        raise ValueError(f"{self._video}: no frames")


def still_page(page: Image, size: Tuple[int, int] = DOC_SIZE) -> PageSource:
    """The document camera looking down at ``page`` lying on the desk."""
    frame = _on_desk(page, size)
    return lambda _t: frame


#: The document camera's default scene repeats: a page slides in, lies still for
#: :data:`PAGE_STILL` seconds, slides out, and the next comes.
PAGE_STILL = 20.0


def desk_scenes(seed: int, size: Tuple[int, int], fps: float) -> PageSource:
    """A synthetic page (text, a table, a red seal) arriving on the desk, again and again."""
    scene = DocScene(seed, size, arrive=1.0, slide=1.0, leave=2.0 + PAGE_STILL, fps=fps)
    period = PAGE_STILL + 5.0
    return lambda t: scene(t % period)


def blank_page(size: Tuple[int, int] = DOC_SIZE) -> PageSource:
    """An empty A4 sheet on the desk: what the document camera shows when nothing is given."""
    width = 1240
    sheet = np.full((int(width * 297 / 210), width, 3), 250, np.uint8)
    return still_page(sheet, size)


def _on_desk(page: Image, size: Tuple[int, int]) -> Image:
    width, height = size
    desk = np.full((height, width, 3), (60, 70, 80), np.uint8)
    scale = min(width * 0.9 / page.shape[1], height * 0.9 / page.shape[0])
    shown = cv2.resize(
        page, (max(1, int(page.shape[1] * scale)), max(1, int(page.shape[0] * scale)))
    )
    if shown.ndim == 2:
        shown = cv2.cvtColor(shown, cv2.COLOR_GRAY2BGR)
    y, x = (height - shown.shape[0]) // 2, (width - shown.shape[1]) // 2
    desk[y : y + shown.shape[0], x : x + shown.shape[1]] = shown
    return desk


def _fit(image: Image, size: Tuple[int, int]) -> Image:
    if (image.shape[1], image.shape[0]) == size:
        return image
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def find_face(photo: Image) -> Tuple[int, int, int, int]:
    """The largest face in ``photo`` (x, y, w, h), by dlib's frontal face detector."""
    try:
        dlib = importlib.import_module("dlib")
    except ImportError:
        raise ValueError(
            "dlib is not installed (the face extra); give the face's box with --box x,y,w,h"
        ) from None
    rgb = cv2.cvtColor(photo, cv2.COLOR_BGR2RGB)
    found = list(dlib.get_frontal_face_detector()(rgb, 1))
    if not found:
        raise ValueError("no face found in the photo; give its box with --box x,y,w,h")
    best = max(found, key=lambda r: r.width() * r.height())
    x, y = max(0, int(best.left())), max(0, int(best.top()))
    return x, y, int(best.width()), int(best.height())


# -- the server ------------------------------------------------------------------------


class _Channel:
    """The newest JPEG of one stream; readers wait for the next."""

    def __init__(self) -> None:
        self.seq = 0
        self.data = b""
        self._published = asyncio.Event()

    def publish(self, data: bytes) -> None:
        self.seq += 1
        self.data = data
        published, self._published = self._published, asyncio.Event()
        published.set()

    async def after(self, seq: int) -> Tuple[int, bytes]:
        """The newest JPEG once it is newer than ``seq``, or the same one when woken."""
        if self.seq <= seq:
            await self._published.wait()
        return self.seq, self.data

    def wake(self) -> None:
        """Wake every reader without a frame (to notice an unplug)."""
        published, self._published = self._published, asyncio.Event()
        published.set()


class _Group:
    """Streams rendered together: ``rgb`` + ``ir`` (one scene, one instant), or ``doc``."""

    def __init__(
        self, names: Tuple[str, ...], render: Callable[[float], Tuple[Image, ...]], fps: float
    ) -> None:
        self.names = names
        self.render = render
        self.fps = fps
        self.channels = {name: _Channel() for name in names}
        self.readers = 0
        self.task: Optional[asyncio.Task[None]] = None
        # One thread per group: a source (a video being decoded) is used by one thread.
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="camera-sim")


class CameraSimulator:
    def __init__(
        self,
        face: FaceSource,
        page: Optional[PageSource] = None,
        *,
        fps: float = 30.0,
        doc_fps: float = 15.0,
        quality: int = 80,
    ) -> None:
        self.face = face
        self.page: PageSource = page or blank_page()
        self.quality = quality
        self.stalled = False
        self.unplugged = False
        self.frames: Dict[str, int] = dict.fromkeys(STREAMS, 0)  #: JPEGs rendered per stream
        self._rates = {"face": fps, "doc": doc_fps}
        self._groups: Dict[str, _Group] = {}  # built on the loop: asyncio objects bind to it on 3.8
        self._runner: Optional[web.AppRunner] = None
        self._producers: Set[asyncio.Task[None]] = set()
        self._t0 = 0.0
        self.url = ""

    # -- control -------------------------------------------------------------------------

    def set_scenario(self, scenario: str) -> None:
        scene = self.face if isinstance(self.face, SceneSource) else None
        if scene is None:
            raise ValueError("the face camera plays a recording: it has no scenario")
        scene.scenario = scenario

    def control(self, fields: Dict[str, str]) -> None:
        """``scenario=…`` and/or ``action=stall|resume|unplug|plug``; ``ValueError`` if unknown."""
        action = fields.get("action", "")
        if action not in ("", "stall", "resume", "unplug", "plug"):
            raise ValueError(f"unknown action {action!r} (stall, resume, unplug, plug)")
        if "scenario" in fields:
            self.set_scenario(fields["scenario"])
        if action in ("stall", "resume"):
            self.stalled = action == "stall"
        elif action == "unplug":
            self.unplug()
        elif action == "plug":
            self.unplugged = False

    def unplug(self) -> None:
        self.unplugged = True
        for group in self._groups.values():
            for channel in group.channels.values():
                channel.wake()

    def state(self) -> Dict[str, Any]:
        scenario = self.face.scenario if isinstance(self.face, SceneSource) else "recording"
        return {
            "scenario": scenario,
            "stalled": self.stalled,
            "unplugged": self.unplugged,
            "frames": dict(self.frames),
            "readers": {name: g.readers for name, g in self._groups.items()},
        }

    # -- serving -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: any free port); returns ``http://host:port``."""
        self._groups = {
            "face": _Group(("rgb", "ir"), self._face_frames, self._rates["face"]),
            "doc": _Group(("doc",), self._doc_frames, self._rates["doc"]),
        }
        app = web.Application()
        app.router.add_get("/", self._index)
        for name in STREAMS:
            app.router.add_get(f"/{name}", self._stream)
        app.router.add_get("/control", self._control)
        app.router.add_post("/control", self._control)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}"
        self._t0 = asyncio.get_running_loop().time()
        return self.url

    async def stop(self) -> None:
        self.unplug()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        producers = list(self._producers)
        for task in producers:
            task.cancel()
        await asyncio.gather(*producers, return_exceptions=True)
        loop = asyncio.get_running_loop()
        for group in self._groups.values():
            group.task = None
            await loop.run_in_executor(None, group.executor.shutdown)  # a render may be running

    def _face_frames(self, t: float) -> Tuple[Image, ...]:
        return self.face(t)

    def _doc_frames(self, t: float) -> Tuple[Image, ...]:
        return (self.page(t),)

    def _connected(self) -> bool:
        return not self.unplugged

    def urls(self) -> Dict[str, str]:
        """Role → the port to configure for it."""
        return {role: f"{self.url}/{name}" for name, role in STREAMS.items()}

    async def _index(self, _request: web.Request) -> web.Response:
        lines = [f"{role}: {url}" for role, url in self.urls().items()]
        return web.Response(text="\n".join(lines) + "\n")

    async def _control(self, request: web.Request) -> web.Response:
        fields: Dict[str, str] = dict(request.query)
        if request.method == "POST":
            fields.update({k: str(v) for k, v in (await request.post()).items()})
        try:
            self.control(fields)
        except ValueError as err:
            return web.Response(status=400, text=f"{err}\n")
        return web.json_response(self.state())

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        name = request.path.strip("/")
        group = next(g for g in self._groups.values() if name in g.names)
        if self.unplugged:
            return web.Response(status=503, text="unplugged\n")
        response = web.StreamResponse(
            headers={
                "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                "Cache-Control": "no-store",
            }
        )
        await response.prepare(request)
        self._reader_joined(group)
        channel = group.channels[name]
        seen = channel.seq
        try:
            while self._connected():
                seq, jpeg = await channel.after(seen)
                if not self._connected():
                    break
                if seq == seen:
                    continue
                seen = seq
                head = (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n"
                ).encode()
                await response.write(head + jpeg + b"\r\n")
        except ConnectionError:
            pass  # the reader went away
        finally:
            self._reader_left(group)
        return response

    def _reader_joined(self, group: _Group) -> None:
        group.readers += 1
        if group.task is None:
            group.task = asyncio.ensure_future(self._produce(group))
            self._producers.add(group.task)
            group.task.add_done_callback(self._producers.discard)

    def _reader_left(self, group: _Group) -> None:
        group.readers -= 1
        if group.readers == 0 and group.task is not None:
            # Nobody watches: render nothing. Forgotten at once, so a reader that comes
            # while it is still being cancelled starts a producer of its own.
            group.task.cancel()
            group.task = None

    async def _produce(self, group: _Group) -> None:
        """Render and publish every stream of ``group`` at its frame rate. A frame its source
        cannot render is skipped (and told once): the stream goes on with the next."""
        loop = asyncio.get_running_loop()
        period = 1.0 / group.fps
        due = loop.time()
        failing = False
        while True:
            now = loop.time()
            if due > now:
                await asyncio.sleep(due - now)
            due = max(due + period, loop.time() - period)  # late: skip, never burst
            if self.stalled or self.unplugged:
                continue
            t = loop.time() - self._t0
            try:
                jpegs = await loop.run_in_executor(group.executor, self._render, group, t)
            except Exception:  # a source's defect: log it, never end the stream
                if not failing:
                    _LOGGER.exception("%s: the frame at %.3f s failed", "+".join(group.names), t)
                failing = True
                continue
            failing = False
            for name, jpeg in zip(group.names, jpegs):
                self.frames[name] += 1
                group.channels[name].publish(jpeg)

    def _render(self, group: _Group, t: float) -> List[bytes]:
        params = [cv2.IMWRITE_JPEG_QUALITY, self.quality]
        out = []
        for image in group.render(t):
            ok, data = cv2.imencode(".jpg", image, params)
            if not ok:
                raise ValueError("JPEG encoding failed")
            out.append(np.asarray(data).tobytes())
        return out


# -- govkioskctl sim camera --------------------------------------------------------------


def _size(text: str) -> Tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected WIDTHxHEIGHT") from None
    return width, height


def _box(text: str) -> Tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected x,y,w,h") from None
    return x, y, w, h


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="govkioskctl sim camera",
        description="serve simulated cameras as MJPEG over HTTP (/rgb, /ir, /doc)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 (default): any free port")
    parser.add_argument("--scenario", choices=scenes.SCENARIOS, default="live")
    parser.add_argument("--face", type=Path, help="a photo of the subject (live, photo, screen)")
    parser.add_argument(
        "--box", type=_box, help="the face in the photo: x,y,w,h (default: found by dlib)"
    )
    recording = parser.add_mutually_exclusive_group()
    recording.add_argument("--images", help="the face camera plays a directory or glob of images")
    recording.add_argument("--video", help="the face camera plays a video file")
    parser.add_argument("--page", type=Path, help="what the document camera shows (an image)")
    parser.add_argument("--size", type=_size, default=scenes.SIZE, help="face frames, e.g. 640x480")
    parser.add_argument("--doc-size", type=_size, default=DOC_SIZE, help="document frames")
    parser.add_argument("--fps", type=float, default=30.0, help="face camera frame rate")
    parser.add_argument("--doc-fps", type=float, default=15.0, help="document camera frame rate")
    parser.add_argument("--quality", type=int, default=80, help="JPEG quality")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> CameraSimulator:
    """The simulator the command line describes; ``ValueError`` says what is wrong."""
    face: FaceSource
    if args.images or args.video:
        images: List[str] = []
        if args.images:
            pattern = str(Path(args.images) / "*") if Path(args.images).is_dir() else args.images
            images = sorted(p for p in glob.glob(pattern) if p.lower().endswith(IMAGE_SUFFIXES))
            if not images:
                raise ValueError(f"{args.images}: no images")
        face = RecordingSource(args.size, args.fps, images=images, video=args.video or "")
    else:
        photo: Image = np.zeros((8, 8, 3), np.uint8)
        box = (0, 0, 8, 8)
        if args.face is not None:
            read = cv2.imread(str(args.face), cv2.IMREAD_COLOR)
            if read is None:
                raise ValueError(f"{args.face}: not an image")
            photo = np.asarray(read, dtype=np.uint8)
            box = args.box or find_face(photo)
        elif args.scenario != "nobody":
            raise ValueError(f"--scenario {args.scenario} needs --face PHOTO")
        face = SceneSource(scenes.FaceScene(args.scenario, photo, box, args.size), args.seed)
    page: Optional[PageSource] = None
    if args.page is not None:
        read = cv2.imread(str(args.page), cv2.IMREAD_COLOR)
        if read is None:
            raise ValueError(f"{args.page}: not an image")
        page = still_page(np.asarray(read, dtype=np.uint8), args.doc_size)
    else:
        page = desk_scenes(args.seed, args.doc_size, args.doc_fps)
    return CameraSimulator(face, page, fps=args.fps, doc_fps=args.doc_fps, quality=args.quality)


def describe(sim: CameraSimulator) -> str:
    """What ``govkioskctl sim camera`` prints: where it is and how to point the daemon at it."""
    lines = [f"camera simulator at {sim.url}", ""]
    for role, url in sim.urls().items():
        lines += ["[[devices.static]]", f'role = "{role}"', f'port = "{url}"', ""]
    lines.append(f"control: curl -X POST {sim.url}/control -d scenario=photo  (or -d action=stall)")
    return "\n".join(lines)


async def _serve(sim: CameraSimulator, host: str, port: int) -> None:
    await sim.start(host, port)
    print(describe(sim), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    try:
        sim = build(args)
    except ValueError as err:
        print(f"govkioskctl sim camera: {err}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(sim, args.host, args.port))
    return 0
