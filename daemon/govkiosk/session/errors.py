"""The citizen session's exceptions: refused requests (D-Bus names them by class), step ends."""

from __future__ import annotations

from ..errors import GovkioskError


class SessionError(GovkioskError):
    """A session request was refused; the class name is the D-Bus error's name."""


class NotAcceptingError(SessionError):
    """The kiosk takes no new sessions now (power failing, out of service)."""


class SessionActiveError(SessionError):
    """A session is already running."""


class KioskBusyError(SessionError):
    """An item test was asked for while a citizen's session (or another test) runs."""


class WrongSessionError(SessionError):
    """The session named is not the current one."""


class NotAChoiceError(SessionError):
    """The choice is not among the current state's choices."""


class NoPreviewError(SessionError):
    """The session has no such page to preview."""


class ItemUnavailableError(SessionError):
    """The item needs a part this kiosk lacks now (face verification, a camera)."""


class BadRequestError(SessionError):
    """An argument is not one of the values the API allows."""


class NotDoneError(SessionError):
    """The session is not at its ``done`` step: only a finished service is rated."""


class AlreadyEvaluatedError(SessionError):
    """The session has been rated already: one evaluation per session."""


class InvalidEvaluationError(SessionError):
    """The level or the reasons of an evaluation are not allowed."""


class StepFailed(GovkioskError):
    """A step could not do its work; ``code`` is the ops code, ``message`` overrides the
    table's citizen message when the department gave its own."""

    def __init__(self, code: str, detail: str = "", *, message: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.citizen_message = message


class StepExpired(GovkioskError):
    """The citizen did not answer before the step's deadline."""


class Declined(GovkioskError):
    """The citizen declined (consent refused, identity not confirmed)."""


class Interrupted(GovkioskError):
    """Something outside the flow ended it (a web app's browser exited): the session ends
    ``cancelled`` with ``code`` for ops, and no failure screen — the kiosk goes home."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class NotExtendableError(GovkioskError):
    """ "More time" is not available now."""
