"""Face verification's exception tree.

Messages name files, keys and codes, never a person: they may reach a log (§8 d).
"""

from __future__ import annotations

from ..errors import GovkioskError


class FaceError(GovkioskError):
    """Face verification cannot go on."""


class PhotoError(FaceError):
    """The card's photo cannot be turned into an image (bad bytes, the decoder refused)."""


class NoFaceError(FaceError):
    """An image that should show one face shows none."""


class ModelError(FaceError):
    """The face model cannot be loaded (dlib missing, a weights file missing or unreadable)."""


class WorkerError(FaceError):
    """The worker process did not answer a call."""


class WorkerCrashed(WorkerError):
    """The worker process died; the next call starts a new one."""


class WorkerTimeout(WorkerError):
    """A call took longer than its limit; the worker was stopped and will be restarted."""


#: Errors the worker reports by name; anything else arrives as :class:`FaceError`.
BY_NAME = {
    cls.__name__: cls for cls in (FaceError, PhotoError, NoFaceError, ModelError, WorkerError)
}
