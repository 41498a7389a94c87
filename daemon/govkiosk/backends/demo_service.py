"""A demo department service: the other end of :mod:`.http`, for the demo and the tests.

``python -m govkiosk.backends.demo_service --port 8470 --seal-dir DIR --kiosk-key ID=PUB.pem``

answers ``POST /v1/documents`` for the seven Table 1 items with synthetic records
(:mod:`.demo_data`) as certificate PDFs (:mod:`.certificate`) sealed by the demo seal
authority in ``DIR`` (:mod:`.demo_authority`; a kiosk trusts ``DIR/ca.pem``) — or, when
the request asks for ``"format": "ofd"``, as OFD documents (:mod:`.demo_ofd`) sealed with
a GB/T 38540 SM2 seal by the demo SM2 seal authority in the same directory
(:mod:`.demo_sm2`; a kiosk trusts ``DIR/sm2-root.pem``). It checks
each request's signature against the enrolled kiosk keys (401 otherwise) and keeps the
answer for each idempotency key, so a retried request returns the certificate already
issued: ``GET /_demo/stats`` reports issuances and requests, which tests compare.
``--region 22`` makes it one province's platform: requests for other regions are refused.

Test mode (:mod:`.http`): a request with ``"test": true`` (and ``X-Govkiosk-Test: 1``)
is answered only for the published test identity (:data:`.demo_data.TEST_APPLICANT`,
or ``--test-id-number``/``--test-name``), with the certificate titled and watermarked
测试样张 and a ``TEST-`` reference; it is counted as ``tests``, not ``issued``. A test
request for anyone else, and a real request for the test identity, are refused.
``GET /v1/health`` answers ``{"status": "ok"}``.

Misbehaviour for tests (flags, or :class:`Misbehaviour` fields in process): a delay
before answering, HTTP 500 for the next N requests, HTTP 503 after issuing (the answer
is lost, the certificate exists), refusing every request, an unsigned document, a
document changed after sealing (for OFD also: a file added or removed, the signed value
altered, the seal swapped: ``ofd_tamper``), a seal from an authority no kiosk trusts.

Nothing personal is logged: only item, status and the certificate number.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import dataclasses
import datetime
import hashlib
import json
import logging
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from aiohttp import web

from ..security.doctype import OFD, PDF
from . import demo_ofd, demo_webapp
from .base import Applicant
from .certificate import Certificate, render
from .demo_authority import DEPARTMENTS, SealAuthority
from .demo_data import ITEMS, SPECIMEN, TEST_APPLICANT, Refusal, certificate_for, item_names
from .demo_sm2 import Sm2SealAuthority
from .http import (
    DOCUMENTS_PATH,
    HEALTH_PATH,
    IDEMPOTENCY_KEY,
    TEST_HEADER,
    TEST_REFERENCE_PREFIX,
)
from .signing import RequestVerifier, SigningError, load_public_key

_LOGGER = logging.getLogger(__name__)

#: Answers kept for idempotent replay; the oldest are forgotten first.
REMEMBERED = 1000
#: A request with its paper materials: a few pages of JPEG, base64.
MAX_BODY = 16 * 1024 * 1024


@dataclass
class Misbehaviour:
    """Switches a test flips to make the service fail on purpose (mutable by design)."""

    delay: float = 0.0
    fail_next: int = 0
    lose_next_answer: int = 0
    refuse: bool = False
    unsigned: bool = False
    tampered: bool = False
    untrusted: bool = False
    #: How an OFD is tampered with when ``tampered`` (:data:`.demo_ofd.TAMPERS`).
    ofd_tamper: str = "content"


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes


class DemoDepartment:
    """The service's state: seal authorities, enrolled kiosks, issued answers."""

    def __init__(
        self,
        seal_dir: Path,
        kiosk_keys: Mapping[str, Any],
        *,
        region: str = "",
        misbehaviour: Optional[Misbehaviour] = None,
        today: Optional[datetime.date] = None,
        test_identity: Optional[Applicant] = TEST_APPLICANT,
    ) -> None:
        self.authority = SealAuthority(seal_dir)
        self._rogue = SealAuthority(seal_dir, rogue=True)
        seals = {
            dept: (name, demo_ofd.seal_picture(name.replace("电子印章", ""), "电子证照专用章"))
            for dept, name in DEPARTMENTS.items()
        }
        self.sm2_authority = Sm2SealAuthority(seal_dir, seals)
        self._sm2_rogue = Sm2SealAuthority(seal_dir, seals, rogue=True)
        self._verifier = RequestVerifier(kiosk_keys)
        self._region = region
        self._today = today
        self._names = item_names()
        self.misbehaviour = misbehaviour or Misbehaviour()
        self._answers: Dict[str, _Answer] = collections.OrderedDict()
        self._pending: Dict[str, asyncio.Future[_Answer]] = {}  # issuing, by key
        #: The identity its test mode answers for; ``None``: it has no test mode.
        self.test_identity = test_identity
        self.issued = 0
        self.requests = 0
        #: Test specimens issued (not issuances).
        self.tests = 0
        #: The last request's attached pages: (material, page, type, base64 length) only.
        self.attachments: List[Tuple[str, int, str, int]] = []

    @property
    def issuing(self) -> int:
        """Certificates being issued right now."""
        return len(self._pending)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/" + DOCUMENTS_PATH, self._documents)
        app.router.add_get("/" + HEALTH_PATH, self._health)
        app.router.add_get("/_demo/stats", self._stats)
        demo_webapp.routes(app, lambda: self.authority, self._day)
        return app

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {"issued": self.issued, "requests": self.requests, "tests": self.tests}
        )

    async def _documents(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        try:
            key_id = self._verifier.verify("POST", request.raw_path, request.headers, body)
        except SigningError as err:
            _LOGGER.warning("demo department: request refused: %s", err)
            return _json(401, {"code": "unauthorised", "message": "请求签名无效"})
        mis = self.misbehaviour
        if mis.fail_next > 0:
            mis.fail_next -= 1
            return _json(500, {"code": "internal", "message": "系统繁忙"})
        idempotency = request.headers.get(IDEMPOTENCY_KEY, "")
        if not 16 <= len(idempotency) <= 64:
            return _json(400, {"code": "bad_request", "message": "缺少幂等键"})
        test = request.headers.get(TEST_HEADER, "") == "1"
        answer = await self._answer(f"{key_id}/{idempotency}", body, test)
        if mis.lose_next_answer > 0:
            mis.lose_next_answer -= 1
            return _json(503, {"code": "unavailable", "message": "网关超时"})
        return web.Response(status=answer.status, body=answer.body, content_type="application/json")

    async def _answer(self, key: str, body: bytes, test: bool) -> _Answer:
        """The answer for this idempotency key: issued once, replayed afterwards.

        Issuing runs as a task of its own, like a department's transaction: a client that
        gives up (a timeout) does not undo it, and its retry joins or replays it.
        """
        if key in self._answers:
            return self._answers[key]
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._issue(key, body, test))
            self._pending[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        return await asyncio.shield(task)

    def _settle(self, key: str, task: asyncio.Future[_Answer]) -> None:
        del self._pending[key]
        if task.cancelled() or task.exception() is not None:
            return
        self._answers[key] = task.result()
        while len(self._answers) > REMEMBERED:
            self._answers.pop(next(iter(self._answers)))

    async def _issue(self, key: str, body: bytes, test: bool) -> _Answer:
        await asyncio.sleep(self.misbehaviour.delay)  # the department's own processing time
        try:
            name, department, cert, ofd = self._certificate(key, body, test)
        except Refusal as refusal:
            _LOGGER.info("demo department: refused (%s)", refusal.reason)
            return _Answer(422, _dump({"code": refusal.reason, "message": refusal.message}))
        number = cert.number
        loop = asyncio.get_running_loop()
        issue = self._seal_ofd if ofd else self._seal
        document, pages = await loop.run_in_executor(None, issue, cert, department)
        if cert.specimen:
            self.tests += 1
            _LOGGER.info("demo department: test specimen %s %s", name, number)
        else:
            self.issued += 1
            _LOGGER.info("demo department: issued %s %s", name, number)
        return _Answer(
            200,
            _dump(
                {
                    "reference": number,
                    "pages": pages,
                    "summary": {
                        "证明编号": number,
                        "出具单位": cert.authority,
                        "出具日期": cert.issued,
                    },
                    "content_type": OFD if ofd else PDF,
                    "document": base64.b64encode(document).decode("ascii"),
                }
            ),
        )

    def _certificate(self, key: str, body: bytes, test: bool) -> Tuple[str, str, Certificate, bool]:
        """(item name, sealing department, certificate, as OFD), or the department's
        refusal."""
        request = _parse(body)
        self.attachments = request["attachments"]
        if request["test"] != test:
            raise Refusal("bad_request", "测试标记与请求内容不一致")
        applicant = request["applicant"]
        if test and applicant != self.test_identity:
            raise Refusal(
                "test_identity_refused", "测试请求仅受理本部门公布的测试身份，请核对测试身份配置"
            )
        if not test and applicant == self.test_identity:
            raise Refusal("test_identity", "测试身份只用于测试请求")
        if self.misbehaviour.refuse:
            raise Refusal("no_record", "未查询到您的相关记录")
        region = request["region"]
        if not region.startswith(self._region):
            raise Refusal("wrong_region", "本平台不受理该地区的事项")
        name = self._names.get(request["item_code"], "")
        number = _number(name, region, key, self._day())
        if test:
            number = TEST_REFERENCE_PREFIX + number
        department, cert = certificate_for(name, applicant, region, number, self._day())
        if test:
            cert = dataclasses.replace(cert, title=f"{cert.title}（{SPECIMEN}）", specimen=SPECIMEN)
        return name, department, cert, request["format"] == "ofd"

    def _seal(self, cert: Certificate, department: str) -> Tuple[bytes, int]:
        unsealed, pages = render(cert)
        mis = self.misbehaviour
        if mis.unsigned:
            return unsealed, pages
        authority = self._rogue if mis.untrusted else self.authority
        sealed = authority.seal(unsealed, department, reason=cert.title)
        return (tamper(sealed) if mis.tampered else sealed), pages

    def _seal_ofd(self, cert: Certificate, department: str) -> Tuple[bytes, int]:
        """``cert`` as an OFD sealed with ``department``'s SM2 seal (GB/T 38540)."""
        doc_id = hashlib.sha256(cert.number.encode()).hexdigest()[:32]
        laid = demo_ofd.write(cert, doc_id=doc_id, created=self._day())
        mis = self.misbehaviour
        if mis.unsigned:
            return demo_ofd.package(laid.files), laid.pages
        authority = self._sm2_rogue if mis.untrusted else self.sm2_authority
        holder = authority.holder(department)
        files = demo_ofd.seal(
            laid,
            cert,
            doc_id=doc_id,
            created=self._day(),
            seal_der=holder.seal,
            signer=lambda xml, path: authority.sign(department, xml, path),
        )
        if mis.tampered:
            other = self._sm2_rogue.holder(department).seal
            files = demo_ofd.tamper(files, mis.ofd_tamper, other_seal=other)
        return demo_ofd.package(files), laid.pages

    def _day(self) -> datetime.date:
        return self._today or datetime.date.today()


def tamper(pdf: bytes) -> bytes:
    """``pdf`` with one byte of its first content stream changed (length unchanged)."""
    changed = bytearray(pdf)
    changed[pdf.index(b"stream") + 24] ^= 0x01
    return bytes(changed)


def _parse(body: bytes) -> Dict[str, Any]:
    try:
        document = json.loads(body.decode("utf-8"))
        applicant = document["applicant"]
        pages = [
            (str(a["material"]), int(a["page"]), str(a["content_type"]), len(a["data"]))
            for a in document.get("attachments", [])
        ]
        return {
            "test": _boolean(document.get("test", False)),
            "item_code": str(document["item_code"]),
            "region": str(document["region"]),
            "format": str(document.get("format", "pdf")),
            "applicant": Applicant(str(applicant["id_number"]), str(applicant["name"])),
            "attachments": pages,
        }
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise Refusal("bad_request", "请求格式不正确") from err


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value


def _number(name: str, region: str, key: str, day: datetime.date) -> str:
    """A certificate number: item prefix, region, date, a serial from the request."""
    prefix = "GA" if ITEMS.get(name, ("",))[0] == "police" else "RS"  # 公安, else 人社
    serial = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % 1000000
    return f"{prefix}{region[:6]}{day:%Y%m%d}{serial:06d}"


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _json(status: int, value: Any) -> web.Response:
    return web.Response(status=status, body=_dump(value), content_type="application/json")


def _kiosk_keys(pairs: Sequence[str]) -> Dict[str, Any]:
    keys = {}
    for pair in pairs:
        key_id, sep, path = pair.partition("=")
        if not sep or not key_id:
            raise SigningError(f"--kiosk-key {pair!r}: expected KEY_ID=PATH")
        keys[key_id] = load_public_key(Path(path))
    return keys


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m govkiosk.backends.demo_service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8470)
    parser.add_argument(
        "--seal-dir", type=Path, required=True, help="demo seal authority (created)"
    )
    parser.add_argument(
        "--kiosk-key", action="append", default=[], metavar="ID=PEM", help="an enrolled kiosk"
    )
    parser.add_argument("--region", default="", help="division-code prefix this platform serves")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--fail-next", type=int, default=0, help="answer HTTP 500 N times")
    parser.add_argument("--lose-next-answer", type=int, default=0, help="issue, answer 503 N times")
    for switch in ("refuse", "unsigned", "tampered", "untrusted"):
        parser.add_argument(f"--{switch}", action="store_true")
    parser.add_argument(
        "--test-id-number", default=TEST_APPLICANT.id_number, help="the published test identity"
    )
    parser.add_argument("--test-name", default=TEST_APPLICANT.name, help="its name")
    parser.add_argument(
        "--webapp-port", type=int, default=0, help="also serve over HTTPS here (the web app)"
    )
    parser.add_argument("--tls-cert", type=Path, help="the HTTPS certificate (PEM)")
    parser.add_argument("--tls-key", type=Path, help="its key (PEM)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        department = DemoDepartment(
            args.seal_dir,
            _kiosk_keys(args.kiosk_key),
            region=args.region,
            misbehaviour=Misbehaviour(
                delay=args.delay,
                fail_next=args.fail_next,
                lose_next_answer=args.lose_next_answer,
                refuse=args.refuse,
                unsigned=args.unsigned,
                tampered=args.tampered,
                untrusted=args.untrusted,
            ),
            test_identity=Applicant(args.test_id_number, args.test_name),
        )
    except SigningError as err:
        print(f"demo_service: {err}", file=sys.stderr)
        return 2
    if args.webapp_port and (args.tls_cert is None or args.tls_key is None):
        print("demo_service: --webapp-port needs --tls-cert and --tls-key", file=sys.stderr)
        return 2
    asyncio.run(_serve(department.app(), args))
    return 0


async def _serve(app: web.Application, args: argparse.Namespace) -> None:
    """Plain HTTP on ``--port`` (the kiosk's backend) and HTTPS on ``--webapp-port``."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, args.host, args.port).start()
        if args.webapp_port:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(args.tls_cert, args.tls_key)
            await web.TCPSite(runner, args.host, args.webapp_port, ssl_context=context).start()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    sys.exit(main())
