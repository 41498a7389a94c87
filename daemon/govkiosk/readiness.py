"""What ``--check-config`` says of the items the configuration cannot serve (§6.4.2).

The configuration may be valid and still leave items unable to run: an item that verifies
the face (``identity = "card+face"``) needs a photo decoder and a face camera; an item with
paper materials needs a document camera. Such items are shown to citizens as unavailable;
these notes name them and the missing piece, so an integrator sees it before a citizen does.
The items are those of the default catalogue (a new kiosk's; ``govkioskctl items list`` shows
what a running kiosk has published).
"""

from __future__ import annotations

from typing import List, Sequence, Set

from .config import Config
from .items.catalogue import Item, default_catalogue

FACE_CAMERA, DOC_CAMERA = "face_camera_rgb", "doc_camera"


def configured_roles(config: Config) -> Set[str]:
    """Roles given a device: ``[[devices.static]]`` and the USB port map's rules."""
    roles = {entry.role for entry in config.devices.static}
    roles.update(rule.role for rule in config.devices.usb.rules.rules if rule.role)
    return roles


def notes(config: Config, items: Sequence[Item] = ()) -> List[str]:
    """One line per missing piece, naming the items it makes unavailable."""
    items = items or default_catalogue().items
    face = [i.code for i in items if i.identity == "card+face"]
    paper = [i.code for i in items if i.captures]
    roles = configured_roles(config)
    found: List[str] = []
    if face and config.face.decoder == "none":
        found.append(
            f'[face] decoder = "none": no card photo can be read, so these items (they verify'
            f" the face) are unavailable: {', '.join(face)}"
        )
    if face and FACE_CAMERA not in roles:
        found.append(
            f"no device has the role {FACE_CAMERA} ([[devices.static]] or the [devices.usb]"
            f" rules): these items are unavailable: {', '.join(face)}"
        )
    if paper and DOC_CAMERA not in roles:
        found.append(
            f"no device has the role {DOC_CAMERA}: these items with paper materials are"
            f" unavailable: {', '.join(paper)}"
        )
    return found
