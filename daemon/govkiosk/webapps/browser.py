"""The locked-down kiosk browser: one distribution Chromium per web-app session.

Each session gets a fresh profile in a private (0700) directory under the runtime
directory, with ``HOME``, the XDG directories and ``TMPDIR`` pointed inside it, so
nothing the page leaves (cookies, cache, local storage, crash state) outlives the
session: the directory is removed when the browser exits, however it exits.

The browser is driven over ``--remote-debugging-pipe`` (:mod:`.cdp`), reachable only
by this process, and this session's rules are enforced there (docs/webapps.md):

- every document request (page or frame) outside the item's origins fails;
- any new window or popup is closed the moment it opens;
- downloads are denied, file choosers intercepted (never shown), JavaScript dialogs
  dismissed, ``window.print`` is a no-op (printing goes through the bridge only);
- the window sits below the daemon's native strip and is hidden while the native
  consent screen shows.

The machine-wide managed policy (:func:`managed_policy`, ``govkioskctl webapp policy``)
is the second layer for what the protocol cannot reach (devtools, password manager).
The launcher never adds ``--no-sandbox``: only tests in root containers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shlex
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Protocol, Sequence, Set, Tuple
from urllib.parse import urlsplit

from ..timeouts import wait_for
from .cdp import DevTools, Params
from .errors import BrowserError, DevToolsError
from .settings import WebAppsSettings

_LOGGER = logging.getLogger(__name__)

PROFILE_PREFIX = "govkiosk-browser-"
TEMP_PREFIX = "gkb-"
#: Where a hidden window goes (X coordinates; no screen reaches there).
OFF_SCREEN = -20000
#: What the page sees in place of window.print: printing only through the bridge.
NO_PRINT = (
    "Object.defineProperty(window, 'print', {value: function () {}, "
    "writable: false, configurable: false});"
)
#: Chromium switches of every launch (docs/webapps.md explains each group).
FLAGS: Tuple[str, ...] = (
    "--remote-debugging-pipe",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-component-update",
    "--disable-background-networking",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-print-preview",
    "--disable-session-crashed-bubble",
    "--disable-pinch",
    "--overscroll-history-navigation=0",
    "--disable-features=Translate,MediaRouter,PasswordManagerOnboarding,AutofillServerCommunication",
    "--deny-permission-prompts",
    "--password-store=basic",
    "--no-pings",
    "--noerrdialogs",
    "--lang=zh-CN",
)
#: The fresh profile's preferences: what no switch turns off (the translate bar, saving
#: passwords, autofill, asking where to download).
PREFERENCES: Dict[str, Any] = {
    "translate": {"enabled": False},
    "translate_blocked_languages": ["zh-CN", "zh", "en"],
    "credentials_enable_service": False,
    "profile": {
        "password_manager_enabled": False,
        "default_content_setting_values": {"popups": 2, "notifications": 2, "geolocation": 2},
    },
    "autofill": {"profile_enabled": False, "credit_card_enabled": False},
    "download": {"prompt_for_download": False, "default_directory": "/nonexistent"},
    "browser": {"check_default_browser": False},
}
#: Environment the browser keeps from ours; everything else it would write goes in the profile.
KEPT_ENVIRONMENT = (
    "PATH",
    "DISPLAY",
    "XAUTHORITY",
    "WAYLAND_DISPLAY",
    "XDG_RUNTIME_DIR",
    "LANG",
    "LC_ALL",
)


@dataclass(frozen=True)
class Window:
    """Where the browser window goes: below the UI's navigation bar and native strip, left
    of its quick menu, above its status bar (the defaults: a 1280×800 screen)."""

    x: int = 0
    y: int = 172
    width: int = 1112
    height: int = 576


@dataclass(frozen=True)
class BrowserLaunch:
    """How to start the browser: ``[webapps] browser`` and where profiles live."""

    runtime_dir: Path
    command: Tuple[str, ...] = ("chromium",)
    window: Window = Window()
    #: Added after the launcher's own flags (tests: ``--headless=new``, ``--no-sandbox``).
    extra_args: Tuple[str, ...] = ()
    #: Where the browser's short-lived temporary directory goes (its socket paths must stay
    #: under 108 bytes, too short for a profile deep in the runtime directory); None: the
    #: system's temporary directory.
    temp_dir: Optional[Path] = None
    start_timeout: float = 20.0
    close_grace: float = 5.0


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower case, default ports dropped; "" if none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("https", "http") or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    if port is None or (scheme, port) in (("https", 443), ("http", 80)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def allowed(url: str, origins: Set[str]) -> bool:
    """Whether a document at ``url`` may load in a session allowed ``origins``."""
    if url == "about:blank":
        return True
    origin = origin_of(url)
    return bool(origin) and origin in origins


def managed_policy(origins: Iterable[str]) -> Dict[str, Any]:
    """Chromium's managed policy for a kiosk whose web items use ``origins`` (all items).

    Installed as ``/etc/chromium/policies/managed/govkiosk.json`` (the UOS/Kylin browser
    reads its own directory); per-session narrowing is the DevTools layer's job.
    """
    allow = sorted({origin_of(o) for o in origins if origin_of(o)})
    return {
        "URLBlocklist": ["*"],
        "URLAllowlist": [*allow, "about:blank"],
        "DeveloperToolsAvailability": 2,
        "DownloadRestrictions": 3,
        "AllowFileSelectionDialogs": False,
        "PrintingEnabled": False,
        "PasswordManagerEnabled": False,
        "SyncDisabled": True,
        "TranslateEnabled": False,
        "BrowserSignin": 0,
        "AutofillAddressEnabled": False,
        "AutofillCreditCardEnabled": False,
        "IncognitoModeAvailability": 0,
        "DefaultPopupsSetting": 2,
        "DefaultNotificationsSetting": 2,
        "DefaultGeolocationSetting": 2,
        "MetricsReportingEnabled": False,
        "SafeBrowsingProtectionLevel": 0,
        "SpellcheckEnabled": False,
        "BookmarkBarEnabled": False,
        "PromotionalTabsEnabled": False,
        "BackgroundModeEnabled": False,
        "HardwareAccelerationModeEnabled": True,
    }


def wipe_stale_profiles(runtime_dir: Path, temp_dir: Optional[Path] = None) -> int:
    """Remove profiles and temporary directories a previous daemon left (it died with a
    browser open); how many. Only directories this user owns are touched."""
    removed = 0
    places = ((runtime_dir, PROFILE_PREFIX), (temp_dir or Path(tempfile.gettempdir()), TEMP_PREFIX))
    for place, prefix in places:
        with contextlib.suppress(FileNotFoundError):
            for entry in place.iterdir():
                if not entry.name.startswith(prefix) or entry.is_symlink() or not entry.is_dir():
                    continue
                if entry.stat().st_uid != os.getuid():
                    continue
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    return removed


def browser_argv(launch: BrowserLaunch, profile: Path) -> List[str]:
    """The browser's command line for a session whose profile is ``profile`` (the daemon's
    own launches and the browser host's share it: neither runs a command it is sent)."""
    window = launch.window
    return [
        *launch.command,
        f"--user-data-dir={profile / 'data'}",
        f"--disk-cache-dir={profile / 'cache'}",
        *FLAGS,
        f"--window-position={window.x},{window.y}",
        f"--window-size={window.width},{window.height}",
        *launch.extra_args,
        "--app=data:text/html,",
    ]


def prepare_profile(profile: Path) -> None:
    """The fresh profile's ``Default/Preferences`` (:data:`PREFERENCES`)."""
    default = profile / "data" / "Default"
    default.mkdir(mode=0o700, parents=True)
    (default / "Preferences").write_text(json.dumps(PREFERENCES), encoding="utf-8")


def browser_environment(profile: Path, temp: Optional[Path]) -> Dict[str, str]:
    """The browser's environment: ours for :data:`KEPT_ENVIRONMENT`, the rest in the profile."""
    env = {name: os.environ[name] for name in KEPT_ENVIRONMENT if name in os.environ}
    for name, sub in (
        ("HOME", "home"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_DATA_HOME", "data-home"),
    ):
        (profile / sub).mkdir(mode=0o700, exist_ok=True)
        env[name] = str(profile / sub)
    if temp is not None:
        env["TMPDIR"] = str(temp)
    return env


class Child(Protocol):
    """A started browser as :class:`KioskBrowser` drives it: its DevTools pipe ends (ours to
    own from then on), how to wait for its end and how to kill it."""

    read_fd: int
    write_fd: int

    @property
    def pid(self) -> Optional[int]: ...

    @property
    def profile(self) -> Optional[Path]: ...

    async def wait(self) -> Optional[int]:
        """Its exit status once it ended and its profile is wiped (None: unknown)."""

    def kill(self) -> None:
        """End it now (renderers and all); :meth:`wait` returns then."""


class Spawner(Protocol):
    """Starts the browser: here (:class:`LocalSpawner`) or in the kiosk user's session
    through the browser host (``webapps/hostlink.py``)."""

    async def spawn(self, launch: BrowserLaunch) -> Child: ...


class LocalChild:
    """A browser this process started, in its own process group, with its profile."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        read_fd: int,
        write_fd: int,
        profile: Path,
        temp: Path,
    ) -> None:
        self.process = process
        self.read_fd = read_fd
        self.write_fd = write_fd
        self._profile: Optional[Path] = profile
        self._temp: Optional[Path] = temp

    @property
    def pid(self) -> Optional[int]:
        return self.process.pid

    @property
    def profile(self) -> Optional[Path]:
        return self._profile

    async def wait(self) -> Optional[int]:
        try:
            return await self.process.wait()
        finally:
            # Renderers and the zygote are in the browser's process group: none outlives it.
            self._kill_group()
            self._wipe()

    def kill(self) -> None:
        if self.process.returncode is None:
            self._kill_group()

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def _wipe(self) -> None:
        for directory in (self._profile, self._temp):
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)
        self._profile = self._temp = None


class LocalSpawner:
    """Starts the browser as a child of this process (the daemon in tests and the demo; the
    browser host in production), a fresh 0700 profile under ``launch.runtime_dir``."""

    async def spawn(self, launch: BrowserLaunch) -> LocalChild:
        runtime = launch.runtime_dir
        profile: Optional[Path] = None
        temp: Optional[Path] = None
        try:
            runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
            profile = Path(tempfile.mkdtemp(prefix=PROFILE_PREFIX, dir=runtime))
            temp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=launch.temp_dir))
            prepare_profile(profile)
            env = browser_environment(profile, temp)
        except OSError as exc:
            for directory in (profile, temp):
                if directory is not None:
                    shutil.rmtree(directory, ignore_errors=True)
            raise BrowserError(f"cannot make the browser profile under {runtime}: {exc}") from exc
        (cmd_read, cmd_write), (reply_read, reply_write) = os.pipe(), os.pipe()
        # The browser wants the pipe on its descriptors 3 and 4: handed to sh as stdin and
        # stdout, which it moves there (dash knows only descriptors 0-9).
        script = 'exec "$@" 3<&0 4>&1 0</dev/null 1>/dev/null'
        try:
            process = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                script,
                "sh",
                *browser_argv(launch, profile),
                stdin=cmd_read,
                stdout=reply_write,
                stderr=asyncio.subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            for fd in (cmd_read, cmd_write, reply_read, reply_write):
                os.close(fd)
            for directory in (profile, temp):
                shutil.rmtree(directory, ignore_errors=True)
            raise BrowserError(f"cannot start the browser {launch.command[0]!r}: {exc}") from exc
        os.close(cmd_read)
        os.close(reply_write)
        return LocalChild(process, reply_read, cmd_write, profile, temp)


class KioskBrowser:
    """One browser for one web-app session: started on ``url``, kept to ``origins``."""

    def __init__(
        self,
        launch: BrowserLaunch,
        url: str,
        origins: Sequence[str],
        on_blocked: Optional[Callable[[str], None]] = None,
        spawner: Optional[Spawner] = None,
    ) -> None:
        self._launch = launch
        self._url = url
        self._origins = {origin_of(o) for o in origins if origin_of(o)}
        if not allowed(url, self._origins):
            raise BrowserError("the web app's address is outside its own origins")
        self._on_blocked = on_blocked
        self._devtools = DevTools()
        self._spawner: Spawner = spawner if spawner is not None else LocalSpawner()
        self._child: Optional[Child] = None
        self._main_target: Optional[str] = None
        self._main_session: Optional[str] = None
        self._main_attached = asyncio.Event()
        self._window_id: Optional[int] = None
        self._loader = ""  #: the navigation to the item's page
        self._painted: Set[str] = set()
        self._waiter: Optional[asyncio.Task[None]] = None
        self._closing = False
        #: Set when the browser is gone (exited, crashed, closed); the session ends then.
        self.exited = asyncio.Event()
        self.returncode: Optional[int] = None
        #: Set at the main page's first paint after :meth:`start` navigated.
        self.first_paint = asyncio.Event()
        #: Documents refused, closed popups (counts only: URLs may carry personal data).
        self.blocked = 0
        self.popups_closed = 0
        self.crashed = False

    @property
    def profile(self) -> Optional[Path]:
        """The session's profile directory while the browser runs (None: the browser host's)."""
        return None if self._child is None else self._child.profile

    @property
    def pid(self) -> Optional[int]:
        return None if self._child is None else self._child.pid

    def argv(self, profile: Path) -> List[str]:
        return browser_argv(self._launch, profile)

    async def start(self) -> None:
        """Start the browser and load the item's page; :class:`BrowserError` if it cannot."""
        try:
            await wait_for(self._start(), self._launch.start_timeout)
        except asyncio.TimeoutError as exc:
            await self.close()
            raise BrowserError(
                f"the browser did not come up in {self._launch.start_timeout:g} s"
            ) from exc
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> None:
        self._child = child = await self._spawner.spawn(self._launch)
        self._waiter = asyncio.ensure_future(self._wait())
        await self._devtools.open(child.read_fd, child.write_fd)
        self._listen()
        send = self._devtools.send
        # The first reply comes once the browser process is up: a cold start on a busy
        # machine may take longer than a command is given; the start as a whole is bounded.
        await send(
            "Browser.setDownloadBehavior",
            {"behavior": "deny"},
            timeout=self._launch.start_timeout,
        )
        await send("Target.setDiscoverTargets", {"discover": True})
        await send(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
        )
        await self._main_attached.wait()
        for method, command in self._rules(main=True):
            await send(method, command, session_id=self._main_session)
        await send("Runtime.runIfWaitingForDebugger", session_id=self._main_session)
        if self._main_target is not None:
            with contextlib.suppress(DevToolsError):
                window = await send("Browser.getWindowForTarget", {"targetId": self._main_target})
                self._window_id = int(window["windowId"])
        _LOGGER.info("browser: started (pid %s) for %s", self.pid, origin_of(self._url))
        reply = await send("Page.navigate", {"url": self._url}, session_id=self._main_session)
        self._loader = str(reply.get("loaderId", ""))
        if self._loader in self._painted:
            self.first_paint.set()

    def _listen(self) -> None:
        on = self._devtools.on
        on("Target.attachedToTarget", self._attached)
        on("Target.targetCreated", self._created)
        on("Target.targetCrashed", self._target_crashed)
        on("Inspector.targetCrashed", self._inspector_crashed)
        on("Fetch.requestPaused", self._paused)
        on("Page.javascriptDialogOpening", self._dialog)
        on("Page.lifecycleEvent", self._lifecycle)

    def _attached(self, params: Params, _session: Optional[str]) -> None:
        info = params.get("targetInfo", {})
        session_id = str(params.get("sessionId", ""))
        kind, target = info.get("type"), str(info.get("targetId", ""))
        if kind == "page" and self._main_target is None:
            # The window's first page: :meth:`_start` guards it, then lets it run.
            self._main_target, self._main_session = target, session_id
            self._main_attached.set()
        elif kind == "page" and target != self._main_target:
            self._close_popup(target)
        elif kind == "iframe":
            for method, command in self._rules(main=False):
                self._devtools.post(method, command, session_id)
            self._devtools.post("Runtime.runIfWaitingForDebugger", session_id=session_id)
        else:  # workers run on their own origin's terms; let them go
            self._devtools.post("Runtime.runIfWaitingForDebugger", session_id=session_id)

    @staticmethod
    def _rules(main: bool) -> List[Tuple[str, Params]]:
        """This session's rules on one page or frame target (DevTools commands)."""
        rules: List[Tuple[str, Params]] = [
            (
                "Fetch.enable",
                {
                    "patterns": [
                        {"urlPattern": "*", "resourceType": "Document", "requestStage": "Request"}
                    ]
                },
            ),
            ("Page.enable", {}),
            ("Page.setInterceptFileChooserDialog", {"enabled": True}),
            ("Page.addScriptToEvaluateOnNewDocument", {"source": NO_PRINT}),
            (
                "Target.setAutoAttach",
                {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
            ),
        ]
        if main:
            rules.append(("Page.setLifecycleEventsEnabled", {"enabled": True}))
        return rules

    def _created(self, params: Params, _session: Optional[str]) -> None:
        info = params.get("targetInfo", {})
        target = str(info.get("targetId", ""))
        if (
            info.get("type") == "page"
            and self._main_target is not None
            and target != self._main_target
        ):
            self._close_popup(target)

    def _close_popup(self, target: str) -> None:
        self.popups_closed += 1
        _LOGGER.warning("browser: closed a new window the page opened")
        self._devtools.post("Target.closeTarget", {"targetId": target})

    def _paused(self, params: Params, session_id: Optional[str]) -> None:
        request_id = params.get("requestId")
        url = str(params.get("request", {}).get("url", ""))
        if allowed(url, self._origins):
            self._devtools.post("Fetch.continueRequest", {"requestId": request_id}, session_id)
            return
        self.blocked += 1
        origin = origin_of(url) or url.split(":", 1)[0] + ":"
        _LOGGER.warning("browser: refused a page outside the item's origins (%s)", origin)
        self._devtools.post(
            "Fetch.failRequest", {"requestId": request_id, "errorReason": "Aborted"}, session_id
        )
        if self._on_blocked is not None:
            self._on_blocked(origin)

    def _dialog(self, params: Params, session_id: Optional[str]) -> None:
        self._devtools.post(
            "Page.handleJavaScriptDialog", {"accept": params.get("type") == "alert"}, session_id
        )

    def _lifecycle(self, params: Params, session_id: Optional[str]) -> None:
        # Only the item page's paint counts, not the blank page the window opens with.
        if session_id != self._main_session:
            return
        if params.get("name") in ("firstPaint", "firstContentfulPaint"):
            loader = str(params.get("loaderId", ""))
            self._painted.add(loader)
            if loader and loader == self._loader:
                self.first_paint.set()

    def _target_crashed(self, params: Params, _session: Optional[str]) -> None:
        if params.get("targetId") == self._main_target:
            self._page_crashed()

    def _inspector_crashed(self, _params: Params, session_id: Optional[str]) -> None:
        if session_id == self._main_session:
            self._page_crashed()

    def _page_crashed(self) -> None:
        if self.crashed:
            return
        self.crashed = True
        _LOGGER.warning("browser: the web app's page crashed; closing the browser")
        self._terminate()

    async def hide(self) -> None:
        """Take the window off the screen (the native consent screen shows): moved out of
        sight, since a kiosk's X server often has no window manager to minimise it."""
        await self._bounds({"left": OFF_SCREEN, "top": OFF_SCREEN})
        await self._bounds({"windowState": "minimized"})

    async def show(self) -> None:
        """Put the window back below the native strip."""
        window = self._launch.window
        await self._bounds({"windowState": "normal"})
        await self._bounds(
            {"left": window.x, "top": window.y, "width": window.width, "height": window.height}
        )

    async def _bounds(self, bounds: Params) -> None:
        if self._window_id is None or self.exited.is_set():
            return
        try:
            await self._devtools.send(
                "Browser.setWindowBounds", {"windowId": self._window_id, "bounds": bounds}
            )
        except DevToolsError as exc:
            _LOGGER.warning("browser: cannot move the window: %s", exc)

    async def evaluate(self, expression: str, user_gesture: bool = False) -> Any:
        """The value of ``expression`` in the main page (tests, the check command);
        ``user_gesture``: as if the citizen had just tapped."""
        reply = await self._devtools.send(
            "Runtime.evaluate",
            {
                "expression": expression,
                "returnByValue": True,
                "awaitPromise": True,
                "userGesture": user_gesture,
            },
            session_id=self._main_session,
        )
        if "exceptionDetails" in reply:
            raise BrowserError("the page's script failed")
        return reply.get("result", {}).get("value")

    @property
    def devtools(self) -> DevTools:
        return self._devtools

    @property
    def main_session(self) -> Optional[str]:
        """The DevTools session of the web app's page."""
        return self._main_session

    async def close(self) -> None:
        """Close the browser (politely, then by force) and wipe its profile."""
        self._closing = True
        if self._waiter is not None and not self._waiter.done():
            with contextlib.suppress(DevToolsError):
                await self._devtools.send("Browser.close", timeout=self._launch.close_grace)
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(asyncio.shield(self._waiter), self._launch.close_grace)
            self._terminate()
        if self._waiter is not None:
            await asyncio.shield(self._waiter)
        else:
            self._ended(None)

    def _terminate(self) -> None:
        if self._child is not None:
            self._child.kill()

    async def _wait(self) -> None:
        assert self._child is not None
        returncode = await self._child.wait()
        if not self._closing:
            _LOGGER.warning("browser: exited by itself (status %s)", returncode)
        self._ended(returncode)

    def _ended(self, returncode: Optional[int]) -> None:
        self.returncode = returncode
        self._devtools.close()
        self.exited.set()


class Manifest(Protocol):
    """What the launcher reads of a web-app item's manifest (``[items.webapp]``)."""

    @property
    def origins(self) -> Sequence[str]: ...


class SessionBrowser:
    """The kiosk browser as a web-app session drives it: open, wait, hide/show, close."""

    def __init__(self, launch: BrowserLaunch, spawner: Optional[Spawner] = None) -> None:
        self._launch = launch
        self._spawner = spawner
        self._browser: Optional[KioskBrowser] = None
        self._gone = asyncio.Event()

    @property
    def browser(self) -> Optional[KioskBrowser]:
        return self._browser

    async def open(self, url: str, app: Manifest) -> None:
        """Start the browser on ``url`` (with its bridge fragment), held to ``app.origins``."""
        self._browser = KioskBrowser(self._launch, url, app.origins, spawner=self._spawner)
        try:
            await self._browser.start()
        finally:
            if self._browser.exited.is_set():
                self._gone.set()

    async def wait(self) -> None:
        """Return when the browser has exited (closed, crashed, killed)."""
        if self._browser is None:
            await self._gone.wait()
            return
        await self._browser.exited.wait()

    async def hide(self) -> None:
        if self._browser is not None:
            await self._browser.hide()

    async def show(self) -> None:
        if self._browser is not None:
            await self._browser.show()

    async def close(self) -> None:
        """Close the browser if it runs; its profile is wiped either way."""
        if self._browser is not None:
            await self._browser.close()
        self._gone.set()


def profile_root() -> Path:
    """Where profiles go: the unit's runtime directory (``RuntimeDirectory=govkiosk``, a
    tmpfs: nothing of a page reaches the disk), else the user's, else the temp directory."""
    runtime = os.environ.get("RUNTIME_DIRECTORY") or os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime.split(":")[0]) / "webapps"
    return Path(tempfile.gettempdir()) / f"govkiosk-webapps-{os.getuid()}"


def launcher(
    runtime_dir: Path,
    window: Window = Window(),
    extra_args: Sequence[str] = (),
    temp_dir: Optional[Path] = None,
    spawner: Optional[Spawner] = None,
) -> Callable[[WebAppsSettings], SessionBrowser]:
    """The session's browser factory: ``[webapps] browser`` (split like shell words) and
    ``browser_args``, read at each web-app session; ``spawner``: where the browser starts
    (None: here; the browser host's link when ``browser_host`` is set)."""

    def build(settings: WebAppsSettings) -> SessionBrowser:
        command = tuple(shlex.split(settings.browser)) or ("chromium",)
        return SessionBrowser(
            BrowserLaunch(
                runtime_dir=runtime_dir,
                command=command,
                window=window,
                extra_args=(*settings.browser_args, *extra_args),
                temp_dir=temp_dir,
            ),
            spawner,
        )

    return build
