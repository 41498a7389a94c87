"""One citizen's session: what the UI may see of it, and what it holds that is personal.

:class:`Session` is the state the D-Bus API publishes (``docs/session-api.md``): step,
prompt, choices, time left, progress, the masked holder, the failure code and message.
:class:`Personal` holds everything about the citizen — the card's identity, the
applicant, the department's answer, the document (PDF or OFD), the rendered previews, the
print job (for an OFD, the PDF rendered from it) —
in this process's memory only (§8 d). :meth:`Personal.wipe` zeroes the buffers it owns
and drops every reference when the session ends, however it ends.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ..backends.base import Applicant, Attachment, DocumentResult
from ..bus import Event
from ..devices.idcard.cardtext import Identity
from ..faceverify.verifier import CardFace
from ..printing.a4 import A4Job
from ..printing.ofdpages import PrintRender
from ..security.doctype import PDF
from .staffcodes import staff_code

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


class State(str, enum.Enum):
    RUNNING = "running"  #: the kiosk is working
    WAITING = "waiting"  #: for the citizen
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Outcome(str, enum.Enum):
    """How a session ended, for ops counts (``SessionEnded``)."""

    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"  #: the citizen cancelled or declined
    EXPIRED = "expired"  #: a step or the session ran out of time
    WALKED_AWAY = "walked_away"
    HOME = "home"  #: the UI went back to the home screen

    @property
    def final_state(self) -> State:
        return _FINAL_STATES[self]


_FINAL_STATES = {
    Outcome.DONE: State.DONE,
    Outcome.FAILED: State.FAILED,
    Outcome.CANCELLED: State.CANCELLED,
    Outcome.HOME: State.CANCELLED,
    Outcome.EXPIRED: State.EXPIRED,
    Outcome.WALKED_AWAY: State.EXPIRED,
}


#: How the session ended, as the UI words it (``ended_by``): ``timeout``, ``walked_away``,
#: ``cancelled``, ``home``, ``done``, ``failed``; ``stopped`` when the daemon stopped.
ENDED_BY = {
    Outcome.DONE: "done",
    Outcome.FAILED: "failed",
    Outcome.CANCELLED: "cancelled",
    Outcome.EXPIRED: "timeout",
    Outcome.WALKED_AWAY: "walked_away",
    Outcome.HOME: "home",
}
STOPPED = "stopped"


@dataclass(frozen=True)
class SessionEnded(Event):
    """Non-personal facts about a finished session, for ops counts and telemetry."""

    item_code: str
    outcome: str
    error_code: str
    duration: float


def _zero(buffer: Optional[bytearray]) -> None:
    if buffer is not None:
        buffer[:] = bytes(len(buffer))


@dataclass
class Personal:
    """The citizen's data for this session; never logged, stored or sent on."""

    identity: Optional[Identity] = None
    applicant: Optional[Applicant] = None
    result: Optional[DocumentResult] = None
    #: The document as this process holds it: a buffer it can zero.
    document: Optional[bytearray] = None
    #: Its content type: ``application/pdf`` or ``application/ofd``.
    document_type: str = PDF
    previews: List[bytearray] = field(default_factory=list)
    #: An OFD's print PDF, rendered while the preview is shown.
    print_render: Optional[PrintRender] = None
    a4_job: Optional[A4Job] = None
    masked_id: str = ""
    #: The card photo's face, embedded once for the session's verification attempts.
    card_face: Optional[CardFace] = None
    #: What a camera step shows now: the live frame or a captured page (BGR).
    view: Optional[NDArray[np.uint8]] = None
    mirrored: bool = False  #: the face camera's preview is shown as a mirror
    outline: Tuple[float, ...] = ()  #: the page found: x, y of four corners, 0..1
    #: The paper materials captured, encoded as the department takes them.
    scans: List[Attachment] = field(default_factory=list)

    def __repr__(self) -> str:
        return "Personal(<withheld>)"

    def show(
        self, image: NDArray[np.uint8], mirrored: bool = False, outline: Tuple[float, ...] = ()
    ) -> None:
        self.view, self.mirrored, self.outline = image, mirrored, outline

    def unshow(self) -> None:
        if self.view is not None:
            self.view.fill(0)
        self.view, self.outline = None, ()

    def wipe(self) -> None:
        """Zero the buffers this session owns and drop every reference.

        ``bytes`` from the card driver and the backend cannot be overwritten in Python;
        dropping the last reference is all that can be done for them.
        """
        _zero(self.document)
        for page in self.previews:
            _zero(page)
        if self.a4_job is not None:
            _zero(self.a4_job.document)
        if self.print_render is not None:
            self.print_render.discard()
        if self.card_face is not None:
            self.card_face.wipe()
        for scan in self.scans:
            _zero(scan.data)
        self.unshow()
        self.identity = self.applicant = self.result = None
        self.document = self.a4_job = self.print_render = None
        self.document_type = PDF
        self.previews = []
        self.masked_id = ""
        self.card_face = None
        self.scans = []


@dataclass
class Session:
    """The state the UI renders, and the personal data behind it."""

    item_code: str
    language: str
    step_count: int
    started: float  #: loop time
    id: str = field(default_factory=lambda: secrets.token_hex(16))
    state: State = State.RUNNING
    step: str = ""
    step_index: int = 0
    prompt: str = ""
    choices: Tuple[str, ...] = ()
    #: Loop time at which the current step expires; ``None``: no limit shown.
    deadline: Optional[float] = None
    extendable: bool = False
    progress: float = 0.0
    pages: int = 0
    holder: str = ""
    error_code: str = ""
    message: str = ""
    extensions: int = 0
    consent_id: str = ""  #: names the consent given; not personal
    reference: str = ""  #: the department's number for the document; not personal
    receipt_attempts: int = 0
    #: The face verification attempt under way (1, 2 …) and how many are allowed.
    face_attempt: int = 0
    face_attempts: int = 0
    #: Which camera's preview the UI shows now: ``face``, ``document`` or none.
    camera: str = ""
    #: The document camera: the material and its page being captured (from 1).
    material: str = ""
    page: int = 0
    page_count: int = 0
    #: The receipt slip came out (the print_receipt step succeeded).
    receipt_printed: bool = False
    #: The document's electronic seal was verified, and the authority that sealed it
    #: (the signer certificate's name; not personal).
    seal_verified: bool = False
    seal_issuer: str = ""
    #: Set on the session's final state only: how it ended (:data:`ENDED_BY`).
    ended_by: str = ""
    #: Counts the changes announced: a reader of GetSession and SessionChanged together
    #: tells the newer state from the older by it.
    revision: int = 0
    #: The citizen rated the service (好差评, at the ``done`` step; once per session).
    evaluated: bool = False
    #: A web app's consent screen (``webapp_consent``): the card fields its page asked for.
    consent_fields: Tuple[str, ...] = ()
    personal: Personal = field(default_factory=Personal)

    def __repr__(self) -> str:
        return f"Session({self.id[:8]}, {self.item_code}, {self.state.value}, {self.step})"

    def view(self, now: float) -> Dict[str, Any]:
        """The state as the D-Bus API describes it: nothing personal but ``holder``."""
        return {
            "session_id": self.id,
            "revision": self.revision,
            "item_code": self.item_code,
            "state": self.state.value,
            "step": self.step,
            "step_index": self.step_index,
            "step_count": self.step_count,
            "prompt": self.prompt,
            "choices": list(self.choices),
            "seconds_left": -1.0 if self.deadline is None else max(0.0, self.deadline - now),
            "extendable": self.extendable,
            "progress": self.progress,
            "pages": self.pages,
            "holder": self.holder,
            "error_code": self.error_code,
            "message": self.message,
            "camera": self.camera,
            "attempt": self.face_attempt,
            "attempts": self.face_attempts,
            "material": self.material,
            "page": self.page,
            "page_count": self.page_count,
            "evaluated": self.evaluated,
            "reference": self.reference,
            "receipt_printed": self.receipt_printed,
            "seal_verified": self.seal_verified,
            "seal_issuer": self.seal_issuer,
            "ended_by": self.ended_by,
            "staff_code": staff_code(self.error_code),
            "consent_fields": list(self.consent_fields),
        }
