"""The checks every command passes before anything runs, in this order (mqtt-ops.md):

0. size and shape (:func:`~.envelope.parse_command`): oversized, malformed;
1. not retained — the broker would replay a retained command on every reconnect;
2. addressed to this kiosk, by the envelope's ``kiosk_id`` and by the topic;
3. the signature, against the operator key pinned under ``key_id`` (an unknown key id
   is its own reason: ops rotated a key the kiosk does not know yet); then the key's
   rate (``[ops] command_rate``, ``command_burst``): one key cannot make the kiosk
   work for it without bound. Up to here a refusal is counted, never answered;
4. a sane validity window — issued no later than now and than ``not_before``, ending
   after it starts and at most ``max_validity`` after issue — and now within
   [not_before, expires_at], widened by the clock-skew allowance;
5. the replay cache: a known ``cmd_id`` with the same content is a redelivery (the
   stored reply is sent again, nothing runs); with other content it is a conflict; a
   nonce seen under another ``cmd_id`` is a replay;
6. the role: the key must be pinned for the role the command claims, and the role
   must be allowed the method (§8 a).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, Optional

from .envelope import Command, EnvelopeError, Reason, parse_command, signed_bytes, topic
from .ledger import Entry, Ledger
from .settings import OperatorKey, OpsSettings
from .signing import ED25519, operator_valid

Permissions = Callable[[str], Optional[FrozenSet[str]]]


@dataclass(frozen=True)
class Admitted:
    """A command that passed every check; ``previous`` is set for a redelivery."""

    command: Command
    previous: Optional[Entry] = None


class Gate:
    def __init__(
        self,
        kiosk_id: str,
        settings: Callable[[], OpsSettings],
        ledger: Ledger,
        permissions: Permissions,
        clock: Callable[[], float] = time.time,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kiosk_id = kiosk_id
        self.topic = topic(kiosk_id, "cmd", "req")
        self._settings = settings
        self._ledger = ledger
        self._permissions = permissions
        self._clock = clock  # validity windows: wall time, as the operator signed them
        self._monotonic = monotonic  # rate limits: elapsed time
        self._buckets: Dict[str, TokenBucket] = {}

    def check(self, topic_name: str, payload: bytes, retained: bool) -> Admitted:
        """Raise :class:`EnvelopeError` naming the first check that failed."""
        settings = self._settings()
        command = parse_command(payload, settings.max_payload)
        operator = self._authenticate(topic_name, command, retained, settings)
        return self._admit(command, operator, settings)

    def _authenticate(
        self, topic_name: str, command: Command, retained: bool, settings: OpsSettings
    ) -> OperatorKey:
        """Checks 1-3; until the signature verifies, the sender is anyone who can publish."""

        def refuse(reason: Reason, message: str) -> EnvelopeError:
            return EnvelopeError(reason, message, command.cmd_id)

        if retained:
            raise refuse(Reason.RETAINED, "commands are never retained")
        if command.kiosk_id != self.kiosk_id or topic_name != self.topic:
            raise refuse(
                Reason.WRONG_KIOSK,
                f"for {command.kiosk_id!r} on {topic_name!r}; this is {self.kiosk_id!r}",
            )
        operator = settings.operator(command.key_id)
        if operator is None:
            raise refuse(Reason.UNKNOWN_KEY, f"no operator key pinned as {command.key_id!r}")
        algorithm = command.sig_alg or ED25519
        if algorithm != operator.algorithm:  # never try a key under another algorithm
            raise refuse(
                Reason.BAD_SIGNATURE,
                f"key {command.key_id!r} is an {operator.algorithm} key; the command names"
                f" {algorithm}",
            )
        if not operator_valid(
            algorithm, operator.public_key, signed_bytes(topic_name, command.body()), command.sig
        ):
            raise refuse(Reason.BAD_SIGNATURE, f"does not verify with key {command.key_id!r}")
        bucket = self._buckets.get(command.key_id)
        if bucket is None:
            bucket = self._buckets[command.key_id] = TokenBucket(self._monotonic)
        if not bucket.take(settings.command_rate, settings.command_burst):
            raise refuse(Reason.RATE_LIMITED, f"key {command.key_id!r} sends too fast")
        return operator

    def _admit(self, command: Command, operator: OperatorKey, settings: OpsSettings) -> Admitted:
        """Checks 4-6, on a command whose signer is known: refusals are answered, signed."""

        def refuse(reason: Reason, message: str) -> EnvelopeError:
            return EnvelopeError(reason, message, command.cmd_id, command)

        now = self._clock()
        window = _window_problem(command, now, settings)
        if window:
            raise refuse(Reason.BAD_VALIDITY, window)
        if now + settings.clock_skew < command.not_before:
            raise refuse(
                Reason.NOT_YET_VALID, f"valid from {command.not_before:.0f}, now {now:.0f}"
            )
        if now - settings.clock_skew > command.expires_at:
            raise refuse(Reason.EXPIRED, f"expired at {command.expires_at:.0f}, now {now:.0f}")
        previous = self._ledger.get(command.cmd_id)
        if previous is not None:
            if previous.digest != command.digest():
                raise refuse(Reason.CONFLICT, "this cmd_id was used for a different command")
            return Admitted(command, previous)
        if self._ledger.nonce_used(command.nonce):
            raise refuse(Reason.REPLAYED, "this nonce was already used")
        allowed = self._permissions(command.method)
        if allowed is None:
            raise refuse(Reason.UNKNOWN_METHOD, f"no method {command.method!r}")
        if command.role not in operator.roles:
            raise refuse(
                Reason.ROLE_DENIED, f"key {command.key_id!r} is not pinned for {command.role!r}"
            )
        if command.role not in allowed:
            raise refuse(
                Reason.ROLE_DENIED, f"role {command.role!r} may not call {command.method!r}"
            )
        return Admitted(command)


def _window_problem(command: Command, now: float, settings: OpsSettings) -> str:
    """What is wrong with the command's validity window, or ``""``."""
    skew = settings.clock_skew
    if command.issued_at > now + skew:
        return f"issued at {command.issued_at:.0f}, in the future (now {now:.0f})"
    if command.issued_at > command.not_before + skew:
        return "issued after the time it claims to be valid from"
    if command.expires_at <= command.not_before:
        return "expires before it becomes valid"
    if command.expires_at - command.issued_at > settings.max_validity:
        return (
            f"valid for {command.expires_at - command.issued_at:.0f} s from issue;"
            f" the kiosk accepts at most {settings.max_validity:.0f} s"
        )
    return ""


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; one token per command."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._tokens: Optional[float] = None
        self._at = clock()

    def take(self, rate: float, burst: int) -> bool:
        now = self._clock()
        saved = burst if self._tokens is None else self._tokens
        # A clock set back never takes tokens away (nor locks the key out until it
        # catches up); one set forward refills at most the burst.
        elapsed = max(0.0, now - self._at)
        self._tokens = min(float(burst), saved + elapsed * rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
