"""The JS client the bridge serves, run in Node with a stand-in window: it takes the token
from the fragment once, removes it from the address, keeps it off the API object, calls the
bridge with it and turns a refusal into a ``BridgeError``. (The real browser runs it in
i19b's Chromium tests.)"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from govkiosk.webapps.bridge import Bridge, Sessions
from govkiosk.webapps.schema import METHODS
from govkiosk.webapps.settings import WebAppsSettings

NODE = shutil.which("node")

HARNESS = """
const fs = require("fs");
const out = { replaced: null, calls: [] };
global.window = {
  location: { hash: HASH, pathname: "/app", search: "?q=1" },
  history: { state: null, replaceState: (s, t, url) => { out.replaced = url; } },
  fetch: (url, init) => {
    out.calls.push({ url: url, auth: init.headers.Authorization, body: init.body,
                     referrer: init.referrerPolicy, credentials: init.credentials });
    return Promise.resolve({ ok: false, status: 403,
      json: () => Promise.resolve({ error: { code: "forbidden", message: "no" } }) });
  },
};
eval(fs.readFileSync(process.argv[2], "utf8"));
const api = window.govkiosk;
out.available = api.available;
out.methods = api.methods;
out.groups = Object.keys(api);
out.api = JSON.stringify(api);
out.frozen = Object.isFrozen(api) && Object.isFrozen(api.idcard);
api.idcard.read({ fields: ["name"] }).catch((e) => {
  out.error = { name: e.name, status: e.status, code: e.code, isError: e instanceof Error };
  console.log(JSON.stringify(out));
});
"""


def run_client(tmp_path: Path, fragment: str) -> dict:  # type: ignore[type-arg]
    assert NODE is not None
    script = tmp_path / "client.js"
    script.write_bytes(Bridge(Sessions(), WebAppsSettings).client_js())
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS.replace("HASH", json.dumps(fragment)), encoding="utf-8")
    done = subprocess.run(
        [NODE, str(harness), str(script)], capture_output=True, check=True, timeout=30
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.skipif(NODE is None, reason="needs Node.js")
def test_the_client_takes_the_token_once_and_hides_it(tmp_path: Path) -> None:
    out = run_client(tmp_path, "#a=1&govkiosk-bridge=4321.TOKEN_abc-_&b=2")
    assert out["replaced"] == "/app?q=1#a=1&b=2"
    assert out["available"] is True
    assert out["methods"] == list(METHODS)
    assert {"session", "idcard", "face", "print", "qr", "doccam", "speech"} <= set(out["groups"])
    assert "TOKEN" not in out["api"]
    assert out["frozen"] is True
    [call] = out["calls"]
    assert call == {
        "url": "http://127.0.0.1:4321/v1/idcard.read",
        "auth": "Bearer TOKEN_abc-_",
        "body": '{"fields":["name"]}',
        "referrer": "no-referrer",
        "credentials": "omit",
    }
    assert out["error"] == {
        "name": "BridgeError",
        "status": 403,
        "code": "forbidden",
        "isError": True,
    }


@pytest.mark.skipif(NODE is None, reason="needs Node.js")
def test_without_a_fragment_the_client_refuses_without_calling(tmp_path: Path) -> None:
    out = run_client(tmp_path, "")
    assert out["replaced"] is None
    assert out["available"] is False
    assert out["calls"] == []
    assert out["error"]["code"] == "no_bridge"
