"""Security functions of the kiosk platform: electronic-seal verification (§7.2 a).

Importing the package registers the seal schemes that live in modules of their own with
:func:`.seal.register` (they import :mod:`.seal`, which cannot import them back).
"""

from . import ofdseal  # noqa: F401 - registers the ofd-ses scheme
