"""The update's exceptions: each message says what was refused and why."""

from __future__ import annotations

from ..errors import GovkioskError


class UpdateError(GovkioskError):
    """An update that did not happen (or was undone); the installed version stays."""


class ManifestError(UpdateError):
    """The release manifest's shape is not acceptable."""


class SignatureError(UpdateError):
    """The release manifest is not signed by a pinned release key."""


class VersionError(UpdateError):
    """The release does not apply to this kiosk now: a downgrade, too old a version
    installed, an expired manifest."""


class DownloadError(UpdateError):
    """A package could not be fetched, or is not the size or hash the manifest says."""


class InstallError(UpdateError):
    """The privileged installer could not install, or could not roll back."""
