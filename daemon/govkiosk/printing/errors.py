"""The printing subsystem's errors, each with the ops-facing code the session shows."""

from __future__ import annotations

from ..errors import GovkioskError


class PrintError(GovkioskError):
    """A document could not be printed; ``code`` is stable (``printer.paper_out``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class PrinterUnavailableError(PrintError):
    """The print service or queue cannot be reached; nothing was submitted."""


class PrinterProblemError(PrintError):
    """The printer reports a condition (paper out, jam, offline) while a job waits.

    The job stays queued: a retry resumes it rather than submitting it again.
    """


class PrintJobEndedError(PrintError):
    """The job ended without printing (aborted or cancelled); a retry submits it anew."""


class PreviewError(GovkioskError):
    """The document's pages could not be rendered for the preview."""
