"""Security functions of the kiosk platform: electronic-seal verification (§7.2 a) —
PAdES and SM2 seals on PDF (``seal.py``), SES seals and signatures on OFD (``ses.py``,
``sesverify.py``), and making SM2 test seals (``sesmake.py``)."""
