"""The device shadow: what ops wants the kiosk to be (``desired``) and what it is
(``reported``), after AWS IoT's Device Shadow.

``shadow/desired`` is retained and written by ops only (the broker's ACL) — and, since
it changes the kiosk like ``config.set`` does, it is signed like a command: by a pinned
operator key, for a role allowed ``config.set``, over the topic and the canonical
document. It has two independently versioned parts::

    {"kiosk_id", "issuer", "key_id", "role", "issued_at",
     "config":    {"version": 3, "values": {<section>: {<key>: <value>}}},
     "catalogue": {"version": 7, "document": "<catalogue TOML>"},
     "sig"}

The kiosk converges each part only to a version newer than the one it applied (a
stale or replayed document changes nothing), never retries a version that failed,
and reports every outcome in ``shadow/reported`` (retained).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from typing import Any, Callable, Dict, Optional

from .. import __version__
from ..contract.logs import printable
from ..errors import GovkioskError
from ..items.roles import Role
from ..store import Store
from . import remote_config
from .envelope import signed_bytes, topic
from .host import Host
from .methods import METHODS
from .signing import ED25519, operator_valid
from .view import KioskView

_LOGGER = logging.getLogger(__name__)

PARTS = ("config", "catalogue")


class ShadowError(GovkioskError):
    """A desired document that is not signed by a pinned key for an allowed role."""


class Shadow:
    def __init__(
        self,
        host: Host,
        view: KioskView,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._host = host
        self._view = view
        self._clock = clock
        self._store: Store = host.store
        self.kiosk_id = host.kiosk_id
        self.desired_topic = topic(self.kiosk_id, "shadow", "desired")
        self.reported_topic = topic(self.kiosk_id, "shadow", "reported")
        self.applied: Dict[str, int] = {}
        self.outcomes: Dict[str, Dict[str, Any]] = {}
        self.version = 0

    async def load(self) -> None:
        rows = await self._store.fetchall(
            "SELECT name, value FROM ops_meta WHERE name LIKE 'shadow.%'"
        )
        for name, value in rows:
            self._restore(name[len("shadow.") :], value)

    def _restore(self, name: str, value: str) -> None:
        if name == "version":
            self.version = int(value)
        elif name.startswith("applied."):
            self.applied[name[len("applied.") :]] = int(value)
        elif name.startswith("outcome."):
            self.outcomes[name[len("outcome.") :]] = json.loads(value)

    async def _save(self, name: str, value: str) -> None:
        await self._store.execute(
            "INSERT OR REPLACE INTO ops_meta VALUES (?, ?)", ("shadow." + name, value)
        )

    def verify(self, payload: bytes) -> Dict[str, Any]:
        try:
            document = json.loads(payload.decode("utf-8"))
            signature = base64.b64decode(document.pop("sig"), validate=True)
            key_id, role = document["key_id"], document["role"]
        except (
            UnicodeDecodeError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            binascii.Error,
        ) as err:
            raise ShadowError(f"desired: malformed: {err}") from None
        if document.get("kiosk_id") != self.kiosk_id:
            raise ShadowError("desired: addressed to another kiosk")
        operator = self._host.settings().operator(str(key_id))
        if operator is None:
            raise ShadowError(f"desired: no operator key pinned as {key_id!r}")
        if document.get("sig_alg", ED25519) != operator.algorithm or not operator_valid(
            operator.algorithm,
            operator.public_key,
            signed_bytes(self.desired_topic, document),
            signature,
        ):
            raise ShadowError(f"desired: signature does not verify with key {key_id!r}")
        if role not in operator.roles or role not in METHODS["config.set"].roles:
            raise ShadowError(f"desired: role {role!r} may not change the kiosk")
        return dict(document)

    async def converge(self, payload: bytes) -> bool:
        """Apply what is newer; ``True`` if anything was attempted (report again)."""
        try:
            document = self.verify(payload)
        except ShadowError as err:
            _LOGGER.warning("ops: %s", printable(str(err)))
            await self._outcome("desired", None, "rejected", str(err))
            return True
        attempted = False
        for part in PARTS:
            wanted = document.get(part)
            if not isinstance(wanted, dict) or not isinstance(wanted.get("version"), int):
                continue
            version = wanted["version"]
            tried = self.outcomes.get(part, {}).get("version", 0)
            if version <= max(self.applied.get(part, 0), tried or 0):
                continue
            attempted = True
            await self._apply(part, version, wanted)
        return attempted

    async def _apply(self, part: str, version: int, wanted: Dict[str, Any]) -> None:
        try:
            if part == "config":
                values = wanted.get("values")
                if not isinstance(values, dict):
                    raise ShadowError("values: expected a table")
                # As config.set, but with one signature: no change that needs two admins.
                remote_config.check(
                    values,
                    None,
                    kiosk_id=self.kiosk_id,
                    cmd_id="",
                    signer_key_id="",
                    settings=self._host.settings(),
                    config_dir=self._host.config_dir,
                )
                await self._host.apply_config(values, self._host.settings().settle_time)
            else:
                document = wanted.get("document")
                if not isinstance(document, str):
                    raise ShadowError("document: expected the catalogue's TOML text")
                # The managing office's authoritative list (§7.1.2 f), sent by ops.
                await self._host.catalogue.sync_text(Role.OFFICE, document, f"shadow v{version}")
        except GovkioskError as err:
            await self._outcome(part, version, "failed", str(err))
            return
        self.applied[part] = version
        await self._save(f"applied.{part}", str(version))
        await self._outcome(part, version, "applied", "")

    async def _outcome(self, part: str, version: Optional[int], status: str, detail: str) -> None:
        outcome = {"version": version, "status": status, "detail": detail, "at": self._clock()}
        self.outcomes[part] = outcome
        await self._save(f"outcome.{part}", json.dumps(outcome))
        _LOGGER.info("ops: shadow %s version %s: %s %s", part, version, status, printable(detail))

    async def reported(self) -> bytes:
        self.version += 1
        await self._save("version", str(self.version))
        health = self._view.health()
        document = {
            "kiosk_id": self.kiosk_id,
            "version": self.version,
            "at": self._clock(),
            "versions": {"govkiosk": __version__, **{p: self.applied.get(p, 0) for p in PARTS}},
            "config_hash": self._host.config_hash(),
            "catalogue_version": self.applied.get("catalogue", 0),
            "healthy": health["healthy"],
            "devices": {d["id"]: d["state"] for d in health["devices"]},
            "outcomes": self.outcomes,
        }
        return json.dumps(document, ensure_ascii=False).encode("utf-8")
