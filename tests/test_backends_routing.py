"""The route table (§5.2 跨省通办): most specific route, default, cross-province platforms."""

from __future__ import annotations

from pathlib import Path

import pytest

from govkiosk.backends.base import BackendRefusedError, DocumentRequest
from govkiosk.backends.routing import BackendKeyError, NoRouteError, Router
from govkiosk.backends.settings import BackendsSettings, Route
from govkiosk.config import load_config
from govkiosk.security.seal import PadesScheme, SealVerifier
from govkiosk.tables import ConfigError
from harness.departments import KEY_ID, RETIRED, KioskKey, platform

HOME = "http://hlj.example/api"


def table(*routes: Route, default: str = HOME) -> BackendsSettings:
    return BackendsSettings(default_url=default, routes=routes, timeout=7.0)


def router(settings: BackendsSettings, key=None) -> Router:
    return Router(settings, kiosk_id="kiosk-7", kiosk_region="230103", key=key)


def test_the_most_specific_route_wins() -> None:
    routes = (
        Route(url="http://jl.example", region="22"),
        Route(url="http://cc.example", region="2201"),
        Route(url="http://item.example", item="A1", region="22"),
        Route(url="http://hrb.example", item="A1", region="23", key_id="x", timeout=30.0),
    )
    r = router(table(*routes))
    assert r.route_for("B2", "220102").url == "http://cc.example"
    assert r.route_for("B2", "220302").url == "http://jl.example"
    assert r.route_for("A1", "220102").url == "http://item.example"
    assert r.route_for("B2", "110101").url == HOME
    local = r.route_for("A1", "230103")
    assert (local.url, local.key_id, local.timeout, local.cross_province) == (
        "http://hrb.example",
        "x",
        30.0,
        False,
    )
    remote = r.route_for("B2", "220102")
    assert (remote.key_id, remote.timeout, remote.connect_timeout, remote.cross_province) == (
        "kiosk-7",
        7.0,
        3.0,
        True,
    )
    assert not r.route_for("B2", "110101").cross_province  # the default is the kiosk's own platform


def test_no_route_and_no_default() -> None:
    with pytest.raises(NoRouteError) as missing:
        router(table(Route(url="http://jl.example", region="22"), default="")).backend_for(
            "A1", "230103"
        )
    assert missing.value.code == "backend.no_route"


def test_a_missing_key_fails_the_item_not_the_daemon(tmp_path: Path) -> None:
    settings = BackendsSettings(default_url=HOME, key_file=str(tmp_path / "absent.key"))
    with pytest.raises(BackendKeyError) as failed:
        router(settings).backend_for("A1", "230103")
    assert failed.value.code == "backend.key"


def test_backends_section_in_config(tmp_path: Path) -> None:
    path = tmp_path / "govkiosk.toml"
    path.write_text(
        '[kiosk]\nid = "k1"\n[backends]\ndefault_url = "https://hlj.example/api"\n'
        '[[backends.routes]]\nregion = "22"\nurl = "https://jl.example/api"\ntimeout = 30.0\n'
    )
    backends = load_config(path).backends
    assert backends.routes == (Route(url="https://jl.example/api", region="22", timeout=30.0),)
    path.write_text(
        '[kiosk]\nid = "k1"\n[[backends.routes]]\nregion = "2x"\nurl = "ftp://x"\ntimeout = 0\n'
    )
    with pytest.raises(ConfigError) as problems:
        load_config(path)
    assert [p.key for p in problems.value.problems] == [
        "backends.routes.0.url",
        "backends.routes.0.region",
        "backends.routes.0.timeout",
    ]


async def test_a_cross_province_item_reaches_the_other_platform(tmp_path: Path) -> None:
    key = KioskKey(tmp_path / "kiosk")
    home = await platform(tmp_path / "seal-hlj", key, region="23")
    jilin = await platform(tmp_path / "seal-jl", key, region="22")
    r = router(
        BackendsSettings(
            key_id=KEY_ID, default_url=home.url, routes=(Route(url=jilin.url, region="22"),)
        ),
        key=key.key,
    )
    try:
        backend = r.backend_for("无犯罪记录证明", "220102")
        assert r.backend_for("无犯罪记录证明", "220102") is backend  # one client per route
        result = await backend.fetch_document(DocumentRequest("无犯罪记录证明", "220102", RETIRED))
        jl_verifier = SealVerifier(PadesScheme.from_files([str(tmp_path / "seal-jl" / "ca.pem")]))
        assert (await jl_verifier.verify_async(result.pdf)).signer == "公安机关电子印章"
        assert result.summary["出具单位"].startswith("长春市公安局")
        assert result.reference.startswith("GA220102")
        local = await r.backend_for("无犯罪记录证明", "230103").fetch_document(
            DocumentRequest("无犯罪记录证明", "230103", RETIRED)
        )
        assert local.summary["出具单位"].startswith("哈尔滨市公安局")
        assert (home.department.issued, jilin.department.issued) == (1, 1)
        with pytest.raises(
            BackendRefusedError
        ) as refused:  # the home platform does not serve Jilin
            await r.backend_for("X", "230103").fetch_document(
                DocumentRequest("无犯罪记录证明", "220102", RETIRED)
            )
        assert refused.value.reason == "wrong_region"
    finally:
        await r.close()
        await home.close()
        await jilin.close()
