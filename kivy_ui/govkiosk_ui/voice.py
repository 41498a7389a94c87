"""Voice guidance: each step's prompt spoken through the speaker (MIIT elderly-friendly spec).

Text to speech by ``espeak-ng`` (Debian package ``espeak-ng``; ``cmn`` is its Mandarin
voice), run as a child process so the UI loop never waits for it. A new prompt cuts
the one still being spoken: the citizen hears what is on the screen now. Without the
program the guidance is silent, which the log says once; the citizen can turn it off
from the quick menu.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from typing import Dict, Optional, Set

_LOGGER = logging.getLogger(__name__)

PROGRAM = "espeak-ng"
VOICES: Dict[str, str] = {"zh_CN": "cmn", "en": "en"}
#: Words per minute: slower than espeak's 175 default, for older citizens.
SPEED = 140


class Speaker:
    def __init__(self, program: Optional[str] = None, *, enabled: bool = True) -> None:
        self._program = program if program is not None else shutil.which(PROGRAM)
        self.enabled = enabled
        self._speaking: Optional[asyncio.subprocess.Process] = None
        self._tasks: Set[asyncio.Task[None]] = set()
        self._missing_logged = False

    @property
    def available(self) -> bool:
        return self._program is not None

    def say(self, text: str, language: str) -> None:
        """Speak ``text`` (replacing whatever is being spoken); returns at once."""
        self.stop()
        if not self.enabled or not text.strip():
            return
        if self._program is None:
            if not self._missing_logged:
                _LOGGER.info("voice: %s not installed; voice guidance is silent", PROGRAM)
                self._missing_logged = True
            return
        task = asyncio.ensure_future(self._speak(self._program, text, VOICES.get(language, "en")))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop(self) -> None:
        if self._speaking is not None and self._speaking.returncode is None:
            self._speaking.terminate()
        self._speaking = None

    async def _speak(self, program: str, text: str, voice: str) -> None:
        try:
            process = await asyncio.create_subprocess_exec(
                program,
                "-v",
                voice,
                "-s",
                str(SPEED),
                "--",
                text,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as err:
            _LOGGER.warning("voice: cannot start %s: %s", program, err)
            return
        self._speaking = process
        _out, errors = await process.communicate()
        if process.returncode not in (0, -15):  # -15: cut short by the next prompt
            _LOGGER.warning(
                "voice: %s exited %s: %s",
                program,
                process.returncode,
                errors.decode(errors="replace")[:200],
            )
