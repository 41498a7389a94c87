"""One module per screen; the citizen journeys add theirs here (their look is in ``kv/``)."""

from __future__ import annotations
