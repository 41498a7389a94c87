"""``[promo]``: the promotion screen's content — who may sign it, how big it may be, how
long a download may take (docs/promo.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from ..fields import ed25519_key_field, key_id_field, positive, setting


@dataclass(frozen=True)
class ContentKey:
    """A pinned Ed25519 key that signs promotion manifests (the publicity office's)."""

    #: The name of the content key, as signed manifests carry it (`govkioskctl promo keygen` prints
    #: it).
    key_id: str = key_id_field()
    #: The key's Ed25519 public key, base64: manifests signed by its private key are accepted.
    public_key: str = ed25519_key_field()


@dataclass(frozen=True)
class PromoSettings:
    #: Without a key, no manifest is accepted (a local directory still loads).
    content_keys: Tuple[ContentKey, ...] = ()
    #: Where the versions live; empty: ``promo/`` in the state directory.
    dir: str = setting(
        "", expect="an absolute path, or empty", check=lambda v: v == "" or v.startswith("/")
    )
    #: The most disk space, in MiB, one promotion playlist's files may take together; a larger
    #: manifest is refused.
    max_total_mb: int = setting(
        512, expect="a whole number of MiB from 1 to 16384", check=lambda v: 0 < v <= 16384
    )
    #: The largest single promotion file (a video, a picture) in MiB; a larger one is refused.
    max_file_mb: int = setting(
        256, expect="a whole number of MiB from 1 to 4096", check=lambda v: 0 < v <= 4096
    )
    #: One file's whole download, from the request to its last byte.
    download_timeout: float = setting(600.0, expect="a number of seconds > 0", check=positive)
    #: Seconds to connect to the content server, and the longest silence while a file downloads.
    connect_timeout: float = setting(15.0, expect="a number of seconds > 0", check=positive)
    #: Plain ``http://`` to 127.0.0.1 / ::1 / localhost: tests and a local mirror only.
    allow_http_loopback: bool = setting(
        False, expect="true or false", check=lambda v: isinstance(v, bool)
    )
