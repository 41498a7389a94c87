"""China's national algorithms: SM3 (:mod:`.sm3`), SM2 signatures (:mod:`.sm2`) and
X.509 certificates with SM2 keys (:mod:`.certs`). Plumbing: no feature imports, used by
the seal verifier (``security/``) and the OFD reader."""
