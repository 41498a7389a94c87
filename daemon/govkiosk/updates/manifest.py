"""Release manifests: which packages make a version, signed with a pinned release key (pure).

A signed release is a JSON object::

    {"release": {"format": 1, "product": "govkiosk", "version": "0.2.0",
                 "min_version": "0.1.0", "not_after": 1798761600, "rollback": false,
                 "packages": [{"file": "govkiosk_0.2.0_all.deb", "format": "deb",
                               "size": 2301234, "sha256": "9f86d0…"}]},
     "key_id": "release-2026", "sig_alg": "ed25519", "signature": "<base64>"}

The signature (Ed25519, or SM2 with SM3 for sites assessed for national cryptography) is
over :func:`canonical` of ``release``: UTF-8 JSON, sorted keys, no spaces. It is checked
before anything of the release is read (:func:`verify`); then its shape, then whether it
applies to this kiosk now (:func:`applies`). The kiosk and the privileged installer run the
same checks: the installer never trusts what the unprivileged daemon checked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Protocol, Sequence, Tuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..gm import sm2
from ..gm.errors import GmError
from . import versions
from .errors import ManifestError, SignatureError, VersionError

ED25519 = "ed25519"
SM2 = "sm2-sm3"
ALGORITHMS = (ED25519, SM2)
FORMAT = 1
PRODUCT = "govkiosk"
#: A signed release larger than this is refused unread.
MAX_DOCUMENT = 64 * 1024
MAX_PACKAGES = 8
SHA256 = re.compile(r"[0-9a-f]{64}")
#: A plain file name of a package: no directory, no leading dot.
FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}\.(deb|rpm)")
FORMATS = ("deb", "rpm")
OUTER_KEYS = frozenset({"release", "key_id", "sig_alg", "signature"})
RELEASE_KEYS = frozenset(
    {"format", "product", "version", "min_version", "not_after", "rollback", "packages", "notes"}
)
PACKAGE_KEYS = frozenset({"file", "format", "size", "sha256"})
MAX_NOTES = 2000


@dataclass(frozen=True)
class ReleaseKeyPin:
    """A pinned release public key as verification needs it."""

    key_id: str
    public_key: str
    algorithm: str = ED25519


@dataclass(frozen=True)
class Package:
    file: str
    format: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Release:
    version: str
    min_version: str
    not_after: float
    rollback: bool
    packages: Tuple[Package, ...]
    key_id: str
    #: The release's digest: SHA-256 of its canonical bytes, naming it in reports.
    digest: str
    notes: str = ""

    @property
    def total_size(self) -> int:
        return sum(p.size for p in self.packages)


class Signer(Protocol):
    """A release key's private half (``govkiosk.ops.signing.OperatorSigner`` is one)."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


def valid(algorithm: str, public_b64: str, data: bytes, signature: bytes) -> bool:
    """Whether the pinned key ``public_b64`` of ``algorithm`` signed ``data``."""
    try:
        raw = base64.b64decode(public_b64, validate=True)
        if algorithm == SM2:
            return sm2.verify(sm2.PublicKey.from_bytes(raw), data, signature)
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, data)
    except (InvalidSignature, GmError, ValueError, binascii.Error):
        return False
    return True


def canonical(release: Mapping[str, Any]) -> bytes:
    """The bytes the release key signs."""
    return json.dumps(
        release, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sign(release: Mapping[str, Any], signer: Signer) -> Dict[str, Any]:
    """``release`` signed with the release key ``signer``: what ``update.offer`` carries."""
    signature = signer.sign(canonical(release))
    return {
        "release": dict(release),
        "key_id": signer.key_id,
        "sig_alg": signer.algorithm,
        "signature": base64.b64encode(signature).decode("ascii"),
    }


def load(document: Any) -> Mapping[str, Any]:
    """A signed release as JSON text or bytes (bounded) or its parsed object."""
    if isinstance(document, (str, bytes)):
        if len(document) > MAX_DOCUMENT:
            raise ManifestError(f"the release manifest is over {MAX_DOCUMENT // 1024} KiB")
        try:
            document = json.loads(document)
        except (ValueError, RecursionError) as err:
            raise ManifestError(f"the release manifest is not JSON: {err}") from None
    if not isinstance(document, Mapping) or set(document) != OUTER_KEYS:
        raise ManifestError(
            'expected a JSON object with "release", "key_id", "sig_alg" and "signature"'
        )
    return document


def verify(document: Any, keys: Sequence[ReleaseKeyPin]) -> Release:
    """The release in a signed document: signature first, then shape; raise otherwise."""
    document = load(document)
    release, key_id, sig_alg, signature = (
        document[k] for k in ("release", "key_id", "sig_alg", "signature")
    )
    if not all(isinstance(v, str) for v in (key_id, sig_alg, signature)):
        raise SignatureError("key_id, sig_alg and signature: expected strings")
    if not isinstance(release, Mapping):
        raise ManifestError("release: expected an object")
    pin = next((k for k in keys if k.key_id == key_id), None)
    if pin is None:
        raise SignatureError(f"key_id {key_id[:64]!r} is not a release key pinned in [updates]")
    if sig_alg not in ALGORITHMS or sig_alg != pin.algorithm:
        raise SignatureError(
            f"sig_alg {sig_alg[:16]!r} is not the algorithm {key_id} is pinned for"
        )
    try:
        raw = base64.b64decode(signature, validate=True)
        body = canonical(release)
    except (binascii.Error, ValueError, TypeError, RecursionError):
        raise SignatureError("signature: not base64, or the release is not plain JSON") from None
    if not valid(pin.algorithm, pin.public_key, body, raw):
        raise SignatureError(f"the signature does not verify with release key {key_id}")
    return _release(release, key_id, body)


def _release(raw: Mapping[str, Any], key_id: str, body: bytes) -> Release:
    unknown = sorted(str(k)[:32] for k in set(raw) - RELEASE_KEYS)
    if unknown:
        raise ManifestError(f"release: unknown key(s): {', '.join(unknown)}")
    if raw.get("format") != FORMAT:
        raise ManifestError(f"release.format: expected {FORMAT}")
    if raw.get("product") != PRODUCT:
        raise ManifestError(f'release.product: expected "{PRODUCT}"')
    version = _version(raw.get("version"), "release.version")
    min_version = _version(raw.get("min_version", "0"), "release.min_version")
    not_after = raw.get("not_after")
    if isinstance(not_after, bool) or not isinstance(not_after, (int, float)) or not_after <= 0:
        raise ManifestError("release.not_after: expected a time (seconds since 1970, UTC)")
    rollback = raw.get("rollback", False)
    if not isinstance(rollback, bool):
        raise ManifestError("release.rollback: expected true or false")
    notes = raw.get("notes", "")
    if not isinstance(notes, str) or len(notes) > MAX_NOTES:
        raise ManifestError(f"release.notes: expected text of at most {MAX_NOTES} characters")
    packages = raw.get("packages")
    if not isinstance(packages, list) or not 0 < len(packages) <= MAX_PACKAGES:
        raise ManifestError(f"release.packages: expected a list of 1 to {MAX_PACKAGES} packages")
    parsed = tuple(_package(p, f"release.packages[{i}]") for i, p in enumerate(packages))
    files = [p.file for p in parsed]
    if len(set(files)) != len(files):
        raise ManifestError("release.packages: a file is named twice")
    if len({p.format for p in parsed}) != 1:
        raise ManifestError("release.packages: deb and rpm packages mixed in one release")
    return Release(
        version,
        min_version,
        float(not_after),
        rollback,
        parsed,
        key_id,
        hashlib.sha256(body).hexdigest(),
        notes,
    )


def _version(value: Any, where: str) -> str:
    if not isinstance(value, str) or not versions.VERSION.fullmatch(value):
        raise ManifestError(f"{where}: expected a version such as 0.2.0")
    return value


def _package(raw: Any, where: str) -> Package:
    if not isinstance(raw, Mapping) or set(raw) != PACKAGE_KEYS:
        raise ManifestError(f"{where}: expected an object with file, format, size and sha256")
    file, kind, size, digest = raw["file"], raw["format"], raw["size"], raw["sha256"]
    if not isinstance(file, str) or not FILE.fullmatch(file):
        raise ManifestError(f"{where}.file: expected a plain package file name (.deb or .rpm)")
    if kind not in FORMATS or not file.endswith(f".{kind}"):
        raise ManifestError(f"{where}.format: expected deb or rpm, as the file name ends")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ManifestError(f"{where}.size: expected a number of bytes > 0")
    if not isinstance(digest, str) or not SHA256.fullmatch(digest):
        raise ManifestError(f"{where}.sha256: expected 64 lower-case hex digits")
    return Package(file, kind, size, digest)


def applies(
    release: Release, installed: str, now: float, *, max_bytes: Optional[int] = None
) -> None:
    """Raise :class:`VersionError` unless ``release`` may replace ``installed`` now.

    Refused: an expired manifest; an installed version older than ``min_version``; the
    installed version itself; an older version unless the release says ``rollback``
    (signed, like the rest); packages larger in all than ``max_bytes``.
    """
    if now > release.not_after:
        raise VersionError(f"release {release.version}: the manifest expired (not_after passed)")
    if versions.newer(release.min_version, installed):
        raise VersionError(
            f"release {release.version} needs at least {release.min_version} installed;"
            f" this kiosk runs {installed}"
        )
    if release.version == installed:
        raise VersionError(f"release {release.version} is the version installed")
    if versions.newer(installed, release.version) and not release.rollback:
        raise VersionError(
            f"release {release.version} is older than the installed {installed}"
            " and is not signed as a rollback"
        )
    if max_bytes is not None and release.total_size > max_bytes:
        raise VersionError(
            f"release {release.version}: {release.total_size} bytes of packages, over the"
            f" limit of {max_bytes}"
        )
