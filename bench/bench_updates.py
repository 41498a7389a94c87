"""Updates (issue 18, item 4): verifying a signed release on the kiosk (Ed25519 and SM2),
downloading and hashing a 1 MB package from an HTTPS mirror on loopback (the agent's own
code path), and planning waves for 5,000 kiosks. The install itself is measured by the
packaging test (apt on this machine), not here."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Dict

from govkiosk.fleet.pki import CertificateAuthority
from govkiosk.fleet.release import plan, release_body
from govkiosk.ops.signing import SM2, OperatorSigner
from govkiosk.updates import manifest
from govkiosk.updates.download import fetch_release
from govkiosk.updates.settings import ReleaseKey, UpdateSettings

from .timing import summary, times

PACKAGE = 1024 * 1024
DOWNLOADS = 5


def run() -> Dict[str, Any]:
    import sys  # noqa: PLC0415

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from harness.mirror import Mirror  # noqa: PLC0415

    results: Dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        pool = root / "pool"
        pool.mkdir()
        package = pool / "govkiosk_0.2.0_all.deb"
        package.write_bytes(os.urandom(PACKAGE))
        body = release_body("0.2.0", [package], min_version="0.1.0")
        for name, algorithm in (("ed25519", "ed25519"), ("sm2", SM2)):
            key = OperatorSigner.generate("release", algorithm)
            signed = json.dumps(manifest.sign(body, key))
            pins = [manifest.ReleaseKeyPin(key.key_id, key.public_b64(), algorithm)]
            results[f"verify_{name}"] = summary(
                times(
                    lambda s=signed, p=pins: manifest.verify(s, p), 200 if name == "ed25519" else 30
                )
            )
        mirror = Mirror(pool, CertificateAuthority(), root / "pki")
        mirror.start()
        try:
            key = OperatorSigner.generate("release")
            settings = UpdateSettings(
                release_keys=(ReleaseKey(key.key_id, key.public_b64()),),
                mirror=mirror.base_url,
                mirror_ca=str(mirror.ca_file),
            )
            signed_doc = manifest.sign(body, key)
            release = manifest.verify(signed_doc, settings.pins())
            data = json.dumps(signed_doc).encode()
            spent = []
            for n in range(DOWNLOADS):
                started = time.perf_counter()
                asyncio.run(
                    fetch_release(
                        release, data, root / "in" / str(n), root / "ready" / str(n), settings
                    )
                )
                spent.append((time.perf_counter() - started) * 1000)
            results["download_1mb_https"] = summary(sorted(spent))
            results["download_mb_per_s_p50"] = round(
                PACKAGE / 1e6 / (sorted(spent)[len(spent) // 2] / 1000), 1
            )
        finally:
            mirror.stop()
    kiosks = [f"hl-{n:05d}" for n in range(5000)]
    results["plan_5000_kiosks"] = summary(times(lambda: plan(kiosks), 20))
    results["waves_5000"] = [len(w) for w in plan(kiosks)]
    return results
