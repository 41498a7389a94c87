"""A small OCSP responder on 127.0.0.1 for tests: http.server in a thread, answering for
one SM2 seal authority in the way :attr:`Responder.mode` says (good, revoked, unknown,
wrong-signer, stale, wrong-nonce, no-nonce, delegated, delegated-without-eku, delegated
responders with ECDSA and RSA keys, an ECDSA one whose signature is another key's,
garbage, error)."""

from __future__ import annotations

import datetime
import http.server
import threading
from typing import Any, Dict, List, Optional, Set, Tuple

from asn1crypto import ocsp as asn1_ocsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from govkiosk.gm import certs, ocsp

MODES = (
    "good",
    "revoked",
    "unknown",
    "wrong-signer",
    "stale",
    "wrong-nonce",
    "no-nonce",
    "delegated",
    "delegated-without-eku",
    "delegated-ecdsa",
    "delegated-rsa",
    "delegated-ecdsa-forged",
    "garbage",
    "error",
)


class Responder:
    """``with Responder(authority, issuer) as responder: responder.url …``.

    ``issuer``: the CA whose certificates it answers for (default the root);
    ``certificates``: serial → certificate of what it knows (others: ``unknown``);
    ``revoked``: serials it reports revoked whatever the mode.
    """

    def __init__(
        self,
        authority: certs.TestAuthority,
        issuer: Optional[certs.Issued] = None,
        *,
        mode: str = "good",
    ) -> None:
        self.authority = authority
        self.issuer = issuer or authority.root
        self.mode = mode
        self.certificates: Dict[int, Any] = {}
        self.revoked: Set[int] = set()
        self.requests: List[int] = []  #: serials asked about, in order
        self.delegate = authority.issue(
            "OCSP responder", issuer=self.issuer, extended_usage=[ocsp.OID_OCSP_SIGNING]
        )
        self.plain = authority.issue("not an OCSP responder", issuer=self.issuer)
        self.classic_keys = _classic_keys()
        self.classic = {
            kind: authority.issue(
                f"OCSP responder ({kind})",
                issuer=self.issuer,
                extended_usage=[ocsp.OID_OCSP_SIGNING],
                public_key_info=key.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
            )
            for kind, key in self.classic_keys.items()
        }
        self.stranger = certs.TestAuthority(
            certs.name(self.issuer.certificate)
        ).root  # same name, another key
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/ocsp"

    def know(self, *issued: certs.Issued) -> Responder:
        for one in issued:
            cert = one.certificate
            self.certificates[int(cert["tbs_certificate"]["serial_number"].native)] = cert
        return self

    def __enter__(self) -> Responder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def answer(self, request: bytes) -> bytes:
        serial, nonce = ocsp.request_of(request)
        self.requests.append(serial)
        cert = self.certificates.get(serial)
        mode = self.mode
        if mode == "garbage":
            return b"\x30\x03\x0a\x01\x00 not an OCSP response"
        if cert is None:
            return _unknown_serial(serial)
        issuer = self.issuer.certificate
        status = "revoked" if serial in self.revoked or mode == "revoked" else "good"
        if mode == "unknown":
            status = "unknown"
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        kwargs: Dict[str, Any] = {"nonce": nonce}
        signer = self.issuer
        if mode == "wrong-signer":
            signer = certs.Issued(self.issuer.certificate, self.stranger.key)
        elif mode == "stale":
            kwargs["this_update"] = now - datetime.timedelta(days=2)
            kwargs["next_update"] = now - datetime.timedelta(days=1)
        elif mode == "wrong-nonce":
            kwargs["nonce"] = b"\x00" * 16
        elif mode == "no-nonce":
            kwargs["nonce"] = None
        elif mode == "delegated":
            signer = self.delegate
            kwargs["include"] = [self.delegate.certificate]
        elif mode.startswith("delegated-") and mode != "delegated-without-eku":
            kind = "rsa" if mode == "delegated-rsa" else "ecdsa"
            signer = self.classic[kind]
            kwargs["include"] = [signer.certificate]
            key = self.classic_keys[kind]
            if mode.endswith("-forged"):
                key = ec.generate_private_key(ec.SECP256R1())
            kwargs["sign"] = lambda tbs: _classic_sign(key, tbs)
        elif mode == "delegated-without-eku":
            signer = self.plain
            kwargs["include"] = [self.plain.certificate]
        return ocsp.make_response(cert, issuer, signer, status, **kwargs)

    def _handler(self) -> Any:
        responder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = self.rfile.read(length)
                if responder.mode == "error":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = responder.answer(request)
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _unknown_serial(serial: int) -> bytes:
    """``unauthorized`` (RFC 6960 §2.3): the responder answers for no such certificate."""
    del serial
    return bytes(asn1_ocsp.OCSPResponse({"response_status": "unauthorized"}).dump())


_CLASSIC_KEYS: Dict[str, Any] = {}


def _classic_keys() -> Dict[str, Any]:
    """An ECDSA and an RSA key, made once per process (RSA key generation is slow)."""
    if not _CLASSIC_KEYS:
        _CLASSIC_KEYS["ecdsa"] = ec.generate_private_key(ec.SECP256R1())
        _CLASSIC_KEYS["rsa"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _CLASSIC_KEYS


def _classic_sign(key: Any, tbs: bytes) -> Tuple[str, bytes]:
    if isinstance(key, rsa.RSAPrivateKey):
        return "1.2.840.113549.1.1.11", key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    return "1.2.840.10045.4.3.2", key.sign(tbs, ec.ECDSA(hashes.SHA256()))
