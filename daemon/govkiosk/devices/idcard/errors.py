"""The ID card reader's exception tree, and what each SW3 status byte means.

Every failure the reader family raises on purpose derives from :class:`IdCardError`.
Messages never carry card data: they may end up in a log line (§8 d).
"""

from __future__ import annotations

from typing import Dict, Tuple, Type

from ...errors import GovkioskError


class IdCardError(GovkioskError):
    """Something went wrong talking to an ID card reader or reading a card."""


class FrameError(IdCardError):
    """Bytes that do not form a valid frame (bad preamble, implausible LEN, too short)."""


class ChecksumError(FrameError):
    """A frame whose CHK byte does not match the XOR of its bytes."""


class ExchangeTimeoutError(IdCardError):
    """The reader did not answer a request in time."""


class LinkLostError(IdCardError):
    """The port to the reader closed (cable pulled, USB-serial bridge gone)."""


class CardTextError(IdCardError):
    """The card's text block is not what its card type says it should be."""


class UnknownCardTypeError(CardTextError):
    """The text block carries a card-type marker this reader does not know."""


class ReaderStatusError(IdCardError):
    """The reader answered with a failure status (SW3)."""

    def __init__(self, sw3: int, meaning: str) -> None:
        self.sw3 = sw3
        super().__init__(f"reader status {sw3:02X}: {meaning}")


class CommandRejectedError(ReaderStatusError):
    """The reader refused the request itself (checksum, unknown command, no permission)."""


class SamFaultError(ReaderStatusError):
    """The security module (SAM) failed its self-test or is not authorised."""


class NoCardError(ReaderStatusError):
    """No card in the field (find card failed)."""


class SelectCardError(ReaderStatusError):
    """A card was found but could not be selected (usually: it left the field)."""


class CardRejectedError(ReaderStatusError):
    """The card and the SAM did not accept each other, or the card type is unknown."""


class CardReadError(ReaderStatusError):
    """Reading the card's data failed (moved away mid-read, poor coupling)."""


#: SW3 → (error class, meaning). 90 (ok) and 9F (card found) are successes.
STATUS_ERRORS: Dict[int, Tuple[Type[ReaderStatusError], str]] = {
    0x10: (CommandRejectedError, "the request's checksum was wrong"),
    0x21: (CommandRejectedError, "unknown command"),
    0x23: (CommandRejectedError, "command not authorised"),
    0x91: (CommandRejectedError, "no such field on the card"),
    0x31: (CardRejectedError, "the card rejected the SAM"),
    0x32: (CardRejectedError, "the SAM rejected the card"),
    0x33: (CardRejectedError, "card verification failed"),
    0x40: (CardRejectedError, "unknown card type"),
    0x41: (CardReadError, "reading the card failed"),
    0x60: (SamFaultError, "SAM self-test failed"),
    0x66: (SamFaultError, "SAM not authorised"),
    0x80: (NoCardError, "no card found"),
    0x81: (SelectCardError, "selecting the card failed"),
}


def status_error(sw3: int) -> ReaderStatusError:
    """The exception that stands for a failure status ``sw3``."""
    cls, meaning = STATUS_ERRORS.get(sw3, (ReaderStatusError, "unknown status"))
    return cls(sw3, meaning)
