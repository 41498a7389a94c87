"""Demo department services on loopback, and the kiosk end that talks to them."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Dict

from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from govkiosk.backends.base import Applicant
from govkiosk.backends.demo_service import DemoDepartment
from govkiosk.backends.http import HttpBackend
from govkiosk.backends.signing import (
    RequestSigner,
    generate_key_pair,
    load_private_key,
    load_public_key,
)

KEY_ID = "kiosk-test-01"
TODAY = datetime.date(2026, 3, 18)
#: Synthetic identities (the check digit is not meant to be valid).
RETIRED = Applicant("230103195801010035", "测试甲")
YOUNG = Applicant("230103199205170026", "测试乙")


class KioskKey:
    """A kiosk's Ed25519 key pair in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.private_path = directory / "kiosk.key"
        self.public_path = directory / "kiosk.pub"
        generate_key_pair(self.private_path, self.public_path)
        self.key: Ed25519PrivateKey = load_private_key(self.private_path)

    def signer(self, key_id: str = KEY_ID) -> RequestSigner:
        return RequestSigner(self.key, key_id)


class Platform:
    """One demo department service on a loopback port."""

    def __init__(self, seal_dir: Path, keys: Dict[str, Any], region: str = "") -> None:
        self.department = DemoDepartment(seal_dir, keys, region=region, today=TODAY)
        self.server = TestServer(self.department.app(), host="127.0.0.1")

    async def start(self) -> Platform:
        await self.server.start_server()
        return self

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def backend(self, signer: RequestSigner, **options: Any) -> HttpBackend:
        options.setdefault("retry_backoff", 0.01)
        return HttpBackend(self.url, signer, **options)

    async def close(self) -> None:
        await self.server.close()


async def platform(seal_dir: Path, key: KioskKey, region: str = "") -> Platform:
    return await Platform(seal_dir, {KEY_ID: load_public_key(key.public_path)}, region).start()
