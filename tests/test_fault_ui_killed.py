"""Fault: the UI process is killed mid-session. The daemon watches the UI's bus name
(``cn.govkiosk.UI1``): when its owner leaves the bus, the running session ends at once
(``session.ui_gone``) and its personal data is wiped, rather than waiting in memory for
the session's timeout with nobody to see it.

The UI here is a separate process that owns the UI's bus name as ``govkiosk-ui`` does
(tests/harness/uistandin.py), killed with SIGKILL: what the daemon sees of a UI crash is
exactly its name leaving the bus.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from govkiosk.session.interrupted import MARKER
from govkiosk.session.state import SessionEnded
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.kiosk import WAIT, kiosk
from test_session_journey import to_consent_given

#: The stand-in imports the harness: the child finds it as pytest does (pyproject pythonpath).
TESTS = str(Path(__file__).resolve().parent)

UI = """
import asyncio, sys
from harness.uistandin import serve_ui

async def main():
    await serve_ui(sys.argv[1])
    print("ready", flush=True)
    await asyncio.get_running_loop().create_future()

asyncio.run(main())
"""


async def test_the_session_ends_and_is_wiped_when_the_ui_dies(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    ui = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        UI,
        private_bus.address,
        stdout=asyncio.subprocess.PIPE,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")]),
        },
    )
    try:
        assert ui.stdout is not None
        assert await asyncio.wait_for(ui.stdout.readline(), WAIT) == b"ready\n"
        async with kiosk(tmp_path, private_bus, cupsd) as k:
            sid = await to_consent_given(k, "id_card_print")
            await k.until(step="preview", state="waiting")
            marker = k.state_dir / MARKER
            await eventually(marker.exists, "the session marker", WAIT)
            with k.daemon.bus.stream(SessionEnded) as ended:
                ui.kill()
                await ui.wait()
                event = await asyncio.wait_for(ended.get(), WAIT)
            assert (event.item_code, event.outcome, event.error_code) == (
                "id_card_print",
                "cancelled",
                "session.ui_gone",
            )
            assert await k.state() == {}
            last = await k.ended()
            assert (last["holder"], last["error_code"]) == ("", "session.ui_gone")
            await eventually(lambda: not marker.exists(), "the marker removed", WAIT)
            assert "the UI is gone" in k.log.read_text(encoding="utf-8")
            # A UI that comes back hears, once, why the session ended (it tells the citizen).
            assert await k.session.call_take_notice() == "ui_gone"
            assert await k.session.call_take_notice() == ""
            # And it finds the kiosk free for the next citizen.
            new_sid = await k.session.call_start_session("id_card_print", "zh_CN")
            assert new_sid != sid
            await k.session.call_cancel(new_sid)
            await k.ended()
    finally:
        if ui.returncode is None:
            ui.kill()
            await ui.wait()
