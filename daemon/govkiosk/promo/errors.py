"""The promotion content's exceptions: each message says what was refused and why."""

from __future__ import annotations

from ..errors import GovkioskError


class PromoError(GovkioskError):
    """A playlist update or rollback that did not happen; the playlist in force stays."""


class ManifestError(PromoError):
    """The manifest's structure, its playlist or its file table is not acceptable."""


class SignatureError(PromoError):
    """The manifest is not signed by a pinned content key."""


class DownloadError(PromoError):
    """A media file could not be fetched, or is not the size or hash the manifest says."""


class MediaError(PromoError):
    """A media file is not an image or a video this screen can show."""


class StoreError(PromoError):
    """The version directories could not be written or switched (the cause is kept)."""


class NoPreviousError(PromoError):
    """A rollback with no previous playlist kept."""
