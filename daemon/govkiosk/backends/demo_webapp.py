"""The demo department's web app: 社保清单打印 done the web way (plain HTML + JS).

Served by the demo department service over HTTPS (``--webapp-port``, its test CA) at
:data:`PAGE_PATH`. The page loads the kiosk bridge's JS client from the port in its
launch URL's fragment, asks the kiosk to read the card (the kiosk shows its own consent
screen first), asks its department for the citizen's sealed statement
(:data:`API_PATH`), prints it through the bridge (the kiosk verifies the seal as for its
own items) with a receipt, and ends the session. Every step's outcome is shown in the
page and kept in ``document.body.dataset.stage`` for tests and the benchmark.

The department's API answers any name and ID number it is sent: a real department
authenticates the citizen its own way; the demo trusts the kiosk's card read.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import json
import logging
import re
from typing import Any, Callable, Dict, Tuple

from aiohttp import web

from .base import Applicant
from .certificate import render
from .demo_authority import SealAuthority
from .demo_data import STATEMENT, Refusal, certificate_for

_LOGGER = logging.getLogger(__name__)

PAGE_PATH = "/webapp/social/"
API_PATH = "/webapp/social/api/statement"
#: The card fields the page asks for (the item's manifest declares the same).
FIELDS = ("name", "id_number")
_ID_NUMBER = re.compile(r"\d{17}[\dX]")

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>社保清单打印</title>
<style>
  body { font-family: "WenQuanYi Zen Hei", sans-serif; margin: 0;
         background: #f4f7fb; color: #1f2d3d; }
  header { background: #1565c0; color: #fff; padding: 24px 40px; font-size: 32px; }
  main { padding: 32px 40px; font-size: 24px; }
  #status { min-height: 48px; margin: 16px 0; }
  button { font-size: 28px; padding: 18px 48px; margin: 12px 24px 12px 0; border: 0;
           border-radius: 10px; background: #1565c0; color: #fff; }
  button.secondary { background: #90a4ae; }
  button:disabled { background: #cfd8dc; }
  .steps li { margin: 8px 0; }
  .done { color: #2e7d32; } .error { color: #c62828; }
</style>
</head>
<body data-stage="loading">
<header>社保清单打印（网页办理）</header>
<main>
  <ol class="steps">
    <li>阅读并同意读取身份证信息（自助终端确认页面）</li>
    <li>放置身份证，查询本人社保缴费清单</li>
    <li>打印盖章清单和回执</li>
  </ol>
  <div id="status">正在连接自助终端…</div>
  <button id="start" disabled>开始办理</button>
  <button id="end" class="secondary">结束办理</button>
</main>
<script>
(function () {
  "use strict";
  var status = document.getElementById("status");
  var start = document.getElementById("start");
  var end = document.getElementById("end");
  function show(stage, text, kind) {
    document.body.dataset.stage = stage;
    status.textContent = text;
    status.className = kind || "";
  }
  function finish() {
    if (window.govkiosk && window.govkiosk.available) {
      window.govkiosk.session.end().catch(function () {});
    }
  }
  end.addEventListener("click", finish);
  var match = /govkiosk-bridge=(\\d+)\\./.exec(location.hash);
  if (!match) { show("no-kiosk", "请在自助终端上办理本事项。", "error"); return; }
  var script = document.createElement("script");
  script.src = "http://127.0.0.1:" + match[1] + "/v1/client.js";
  script.onerror = function () { show("no-bridge", "无法连接自助终端，请返回首页。", "error"); };
  script.onload = function () {
    window.govkiosk.session.info().then(function () {
      show("ready", "请点击“开始办理”。");
      start.disabled = false;
    }, function (e) { show("no-bridge", "自助终端未就绪：" + e.code, "error"); });
  };
  document.head.appendChild(script);

  start.addEventListener("click", function () {
    var kiosk = window.govkiosk;
    var number = "";
    start.disabled = true;
    show("consent", "请在自助终端的确认页面上选择是否同意。");
    kiosk.idcard.read({fields: ["name", "id_number"]}).then(function (card) {
      show("query", "正在查询您的社保缴费记录…");
      return fetch("api/statement", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({name: card.fields.name, id_number: card.fields.id_number})
      });
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw {code: body.code, message: body.message}; }
        return body;
      });
    }).then(function (statement) {
      number = statement.number;
      show("print", "正在打印社保缴费清单（" + statement.pages + " 页）…");
      return kiosk.print.pdf({pdf: statement.pdf, copies: 1});
    }).then(function () {
      return kiosk.print.receipt({lines: [
        {text: "社保清单打印 回执"},
        {text: "清单编号：" + number},
        {qr: number}
      ]});
    }).then(function () {
      show("done", "打印完成，请取走清单和回执。", "done");
      return kiosk.speech.say({text: "打印完成，请取走清单和回执"}).catch(function () {});
    }).then(function () {
      setTimeout(finish, 3000);
    }).catch(function (e) {
      show("error", "未能完成：" + (e.message || e.code || "请稍后再试"), "error");
      start.disabled = false;
    });
  });
})();
</script>
</body>
</html>
"""


def statement(
    authority: SealAuthority, name: str, id_number: str, today: datetime.date
) -> Tuple[bytes, int, str]:
    """The sealed 社保缴费清单 PDF of one citizen: (pdf, pages, number). Blocking."""
    applicant = Applicant(id_number, name)
    digest = hashlib.sha256(f"{id_number}/{today}".encode()).hexdigest()
    number = f"SB{today:%Y%m%d}{int(digest[:8], 16) % 10**6:06d}"
    department, cert = certificate_for(STATEMENT, applicant, id_number[:6], number, today)
    unsealed, pages = render(cert)
    return authority.seal(unsealed, department, reason=cert.title), pages, number


def routes(
    app: web.Application,
    authority: Callable[[], SealAuthority],
    today: Callable[[], datetime.date],
) -> None:
    """Add the web app's page and API to the department service's ``app``."""

    async def page(_request: web.Request) -> web.Response:
        return web.Response(
            text=PAGE,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    async def api(request: web.Request) -> web.Response:
        try:
            body: Dict[str, Any] = json.loads(await request.read())
            name, id_number = str(body["name"]), str(body["id_number"])
        except (ValueError, KeyError, TypeError):
            return _answer(400, {"code": "bad_request", "message": "请求格式不正确"})
        if not _ID_NUMBER.fullmatch(id_number) or not 1 <= len(name) <= 30:
            return _answer(400, {"code": "bad_request", "message": "身份信息不完整"})
        loop = asyncio.get_running_loop()
        try:
            pdf, pages, number = await loop.run_in_executor(
                None, statement, authority(), name, id_number, today()
            )
        except Refusal as err:
            return _answer(404, {"code": err.reason, "message": err.message})
        _LOGGER.info("demo web app: statement %s issued (%d pages)", number, pages)
        return _answer(
            200,
            {"pdf": base64.b64encode(pdf).decode("ascii"), "pages": pages, "number": number},
        )

    app.router.add_get(PAGE_PATH, page)
    app.router.add_post(API_PATH, api)


def _answer(status: int, value: Any) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(value, ensure_ascii=False),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
