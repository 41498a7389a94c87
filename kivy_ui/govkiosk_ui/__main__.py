"""``python -m govkiosk_ui``: the same as ``govkiosk-ui``."""

from __future__ import annotations

import sys

from .main import main

sys.exit(main())
