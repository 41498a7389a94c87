"""Security functions of the kiosk platform: electronic-seal verification (§7.2 a) —
PAdES and SM2 seals on PDF (``seal.py``), SES seals and signatures on OFD (``ses.py``,
``sesverify.py``, ``ofdseal.py``), and making SM2 test seals (``sesmake.py``).

Importing the package registers the seal schemes that live in modules of their own with
:func:`.seal.register` (they import :mod:`.seal`, which cannot import them back).
"""

from . import ofdseal  # noqa: F401 - registers the ofd-ses scheme
