"""From an incoming ``cmd/req`` message to signed replies: check, accept, run, answer.

Checks run one message at a time, in arrival order (:class:`~.gate.Gate`); an admitted
command is recorded in the ledger and answered ACCEPTED at once, then runs in a task
of its own so a reboot waiting for the kiosk to go idle does not hold up a ``status``.
Methods that change the kiosk run one after another. The final reply is stored with
the command, so a redelivered command gets the same answer and runs once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Awaitable, Callable, Dict, Set, Tuple

from ..contract.logs import printable
from ..errors import GovkioskError
from .context import Context
from .envelope import Command, EnvelopeError, Reply, Status, reply_topic, topic
from .gate import Gate
from .ledger import Ledger
from .methods import METHODS, Method
from .oplog import withheld
from .refusals import CommandRefused, Refusals
from .signing import SM2, KioskSigner

_LOGGER = logging.getLogger(__name__)

#: topic, payload, retain → sent now or queued for later.
Send = Callable[[str, bytes, bool], Awaitable[None]]


class Commander:
    def __init__(
        self,
        ctx: Context,
        gate: Gate,
        ledger: Ledger,
        signer: KioskSigner,
        send: Send,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ctx = ctx
        self._gate = gate
        self._ledger = ledger
        self._signer = signer
        self._send = send
        self._clock = clock
        self._kiosk_id = gate.kiosk_id
        self._exclusive = asyncio.Lock()
        self._tasks: Set[asyncio.Task[None]] = set()
        self.refusals = Refusals()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    async def receive(self, topic_name: str, payload: bytes, retained: bool) -> None:
        try:
            admitted = self._gate.check(topic_name, payload, retained)
        except EnvelopeError as err:
            await self._reject(err)
            return
        command = admitted.command
        if admitted.previous is not None:
            # A redelivery (QoS 1 after a reconnect, or an operator retrying): answer again.
            stored = admitted.previous.reply
            if stored is not None:
                await self._send(
                    reply_topic(self._kiosk_id, command.cmd_id, command.reply_to), stored, False
                )
            else:
                await self._answer(command, self._accepted(command))
            return
        await self._ledger.record(command)
        await self._ctx.oplog.append(
            "command",
            command.method,
            {
                "cmd_id": command.cmd_id,
                "issuer": command.issuer,
                "role": command.role,
                "key_id": command.key_id,
                "params": withheld(command.params),
            },
        )
        await self._answer(command, self._accepted(command))
        task = asyncio.ensure_future(self._run(command, METHODS[command.method]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, command: Command, method: Method) -> None:
        status, detail = Status.FAILED, ""
        result: Dict[str, Any] = {}
        try:
            if method.disruptive or command.preconditions.get("idle"):
                await self._wait_idle(command)
            if method.disruptive:
                async with self._exclusive:
                    result = await method.handler(self._ctx, command)
            else:
                result = await method.handler(self._ctx, command)
            status = Status.SUCCEEDED
        except asyncio.CancelledError:
            raise
        except GovkioskError as err:
            detail = str(err)
        except Exception as err:
            _LOGGER.exception("ops: %s %s failed unexpectedly", command.method, command.cmd_id)
            detail = f"internal error: {type(err).__name__}"
        reply = Reply(
            command.cmd_id,
            self._kiosk_id,
            status,
            self._clock(),
            result=result,
            detail=detail,
            method=command.method,
            cmd_digest=command.digest(),
        )
        payload = await self._answer(command, reply)
        await self._ledger.finish(command.cmd_id, payload)
        await self._ctx.oplog.append(
            "result",
            command.method,
            {"cmd_id": command.cmd_id, "status": status.value, "detail": detail},
        )

    async def _wait_idle(self, command: Command) -> None:
        activity = self._ctx.host.activity
        left = command.expires_at - self._clock()
        if not activity.idle:
            _LOGGER.info(
                "ops: %s waits until the kiosk is idle (%s)",
                command.method,
                ", ".join(activity.busy_with()),
            )
        if left <= 0 or not await activity.wait_idle(left):
            raise NotIdleError(activity.busy_with())

    async def _reject(self, err: EnvelopeError) -> None:
        command = err.command
        self._ctx.host.bus.publish(CommandRefused(err.reason.value, command is not None))
        if self.refusals.note(err.reason.value):
            _LOGGER.warning(
                "ops: command %s refused: %s",
                printable(err.cmd_id or "(no id)"),
                printable(str(err)),
            )
            await self._ctx.oplog.append(
                "rejected",
                err.reason.value,
                {"cmd_id": err.cmd_id or "", "detail": err.detail, "signed": command is not None},
            )
        await self.summarise_refusals()
        if command is None:
            return  # from anyone who can publish: counted, never answered
        detail: Dict[str, Any] = {
            "cmd_id": command.cmd_id,
            "reason": err.reason.value,
            "detail": err.detail,
            "cmd_digest": command.digest(),
        }
        await self._send(topic(self._kiosk_id, "evt", "command_rejected"), _json(detail), False)
        await self._answer(
            command,
            Reply(
                command.cmd_id,
                self._kiosk_id,
                Status.REJECTED,
                self._clock(),
                reason=err.reason.value,
                detail=err.detail,
                method=command.method,
                cmd_digest=command.digest(),
            ),
        )

    async def summarise_refusals(self) -> None:
        """Write what the refusal sampling left out, once its window has passed."""
        suppressed = self.refusals.closed_window()
        if not suppressed:
            return
        _LOGGER.warning(
            "ops: %d more command(s) refused and not logged one by one: %s",
            sum(suppressed.values()),
            ", ".join(f"{reason} {count}" for reason, count in sorted(suppressed.items())),
        )
        await self._ctx.oplog.append("rejected", "summary", {"refused": suppressed})

    def _accepted(self, command: Command) -> Reply:
        return Reply(
            command.cmd_id,
            self._kiosk_id,
            Status.ACCEPTED,
            self._clock(),
            method=command.method,
            cmd_digest=command.digest(),
        )

    async def _answer(self, command: Command, reply: Reply) -> bytes:
        name = reply_topic(self._kiosk_id, command.cmd_id, command.reply_to)
        if self._signer.algorithm == SM2:  # ~10 ms of CPU: off the event loop
            payload = await asyncio.get_running_loop().run_in_executor(
                None, self._signer.seal, name, reply
            )
        else:  # ECDSA: well under a millisecond
            payload = self._signer.seal(name, reply)
        await self._send(name, payload, False)
        return payload


class NotIdleError(GovkioskError):
    """A disruptive method waited for the kiosk to go idle until its command expired."""

    def __init__(self, busy: Tuple[str, ...]) -> None:
        super().__init__(
            "the kiosk did not become idle before the command expired"
            f" (busy with: {', '.join(busy)})"
        )


def _json(document: Dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")
