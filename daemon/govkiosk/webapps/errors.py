"""The bridge's exception tree: each error is one HTTP status and one ``code`` a page sees
(``{"error": {"code": …, "message": …}}``). Messages never hold personal data."""

from __future__ import annotations

from ..errors import GovkioskError


class BridgeError(GovkioskError):
    """A bridge call refused or failed."""

    status = 500
    code = "internal"


class BadRequestError(BridgeError):
    status, code = 400, "bad_request"


class UnauthorizedError(BridgeError):
    """No token, or not the current session's."""

    status, code = 401, "unauthorized"


class ForbiddenError(BridgeError):
    """Wrong origin or host, or a field or device the item did not declare."""

    status, code = 403, "forbidden"


class DeclinedError(BridgeError):
    """The citizen declined on the native consent screen."""

    status, code = 403, "declined"


class UnknownMethodError(BridgeError):
    status, code = 404, "unknown_method"


class BusyError(BridgeError):
    """Another device call of the session is under way, or the call is not possible now."""

    status, code = 409, "busy"


class SessionEndedError(BridgeError):
    """The token belonged to a session that has ended."""

    status, code = 410, "session_ended"


class TooLargeError(BridgeError):
    """The body is over ``[webapps] max_body``, or the pages over the item's ``max_pages``."""

    status, code = 413, "too_large"


class RateLimitedError(BridgeError):
    status, code = 429, "rate_limited"


class DeviceFailedError(BridgeError):
    """A device or the department failed (paper out, a seal refused, a timeout)."""

    status, code = 502, "device_failed"
