"""A site package mirror on loopback: HTTPS with a certificate of a test CA, serving a
directory from a thread (usable from async and plain tests); counts requests, and can
serve other bytes for a name (a tampered mirror)."""

from __future__ import annotations

import http.server
import ssl
import threading
from pathlib import Path
from typing import Dict, List, Optional

from govkiosk.fleet.pki import CertificateAuthority


class Mirror:
    def __init__(self, directory: Path, ca: CertificateAuthority, pki: Path) -> None:
        self.directory = directory
        self.overrides: Dict[str, bytes] = {}
        self.requests: List[str] = []
        self.ca_file = ca.write(pki, "mirror-ca")
        cert, key = ca.issue_server(["127.0.0.1"]).write(pki, "mirror")
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(str(cert), str(key))
        self._server: Optional[http.server.ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                mirror.requests.append(name)
                path = mirror.directory / name
                if name in mirror.overrides:
                    body = mirror.overrides[name]
                elif path.is_file():
                    body = path.read_bytes()
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = self._context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}/pool/"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
