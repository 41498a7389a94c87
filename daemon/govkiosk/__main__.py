"""``python -m govkiosk`` runs the daemon, like ``govkioskd``."""

import sys

from .app import main

sys.exit(main())
