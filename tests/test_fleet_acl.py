"""The site ACL as the one source of the brokers' permissions: read (fuzzed), turned into a
NATS cluster's users and node configurations, and shipped as generated; the kiosk's list of
broker addresses in ``[ops]``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.bus import EventBus
from govkiosk.cli.fleetcluster import parse_node
from govkiosk.config import load_config
from govkiosk.fleet.acl import Acl, AclError, Rule, parse, subject
from govkiosk.fleet.natscluster import (
    ClusterConfigError,
    Node,
    NodeFiles,
    dn,
    node_config,
    permissions,
    users_config,
)
from govkiosk.ops.link import CONNECT_TIMEOUT_MAX, Link, OpsLinkChanged
from govkiosk.ops.outbox import Outbox
from govkiosk.ops.settings import OpsSettings
from govkiosk.store import Store
from govkiosk.tables import ConfigError
from harness.dbus import PrivateBus
from harness.govkioskd import CONFIG
from harness.opskiosk import running_kiosk
from harness.opssite import Site
from harness.process import free_port

REPO = Path(__file__).resolve().parent.parent
ACL = REPO / "packaging" / "mosquitto" / "acl"
SHIPPED = REPO / "packaging" / "nats"
#: The command that wrote packaging/nats/ (docs/fleet-cluster.md).
SHIPPED_ARGS = [
    *("--acl", str(ACL)),
    *("--node", "nats-1=10.1.0.11", "--node", "nats-2=10.1.0.12", "--node", "nats-3=10.1.0.13"),
    *("--access-node", "access-1=10.1.0.21", "--access-node", "access-2=10.1.0.22"),
    *("--kiosk", "hlj-harbin-0001", "--kiosk", "hlj-harbin-0002"),
]


def site_acl() -> Acl:
    return parse(ACL.read_text(encoding="utf-8"), str(ACL))


def test_a_kiosk_gets_the_patterns_with_its_own_id() -> None:
    rules = site_acl().rules_for("hlj-0001")
    reads = {r.topic for r in rules if r.reads}
    writes = {r.topic for r in rules if r.writes}
    assert reads == {
        "kiosk/v1/hlj-0001/cmd/req",
        "kiosk/v1/hlj-0001/shadow/desired",
        "kiosk/v1/+/cmd/res/hlj-0001/+",
    }
    assert "kiosk/v1/hlj-0001/state" in writes
    assert not any("cmd/req" in name or "desired" in name for name in writes)


def test_operators_get_their_stanza_and_the_watcher_reads_only() -> None:
    acl = site_acl()
    admin = permissions(acl.rules_for("ops-admin"))
    assert "kiosk.v1.*.cmd.req" in admin["publish"]["allow"]
    assert "kiosk.v1.*.shadow.desired" in admin["publish"]["allow"]
    assert "kiosk.v1.*.cmd.res.ops-admin.*" in admin["subscribe"]["allow"]
    watch = permissions(acl.rules_for("ops-watch"))
    assert not any(name.startswith("kiosk.v1.*") for name in watch["publish"]["allow"]), (
        "the watcher publishes nothing about other kiosks"
    )
    assert "kiosk.v1.*.cmd.req" not in watch["subscribe"]["allow"]
    # The one subject not from the ACL: JetStream's delivery to the client's own session.
    assert watch["subscribe"]["allow"][0] == "$MQTT.sub.>"


def test_the_users_file_lists_each_certificate_by_its_dn_with_its_grants() -> None:
    text = users_config(site_acl(), [dn("hlj-0001")])
    body = text[text.index("users = ") + len("users = ") : text.rindex("}")]
    users = {u["user"]: u["permissions"] for u in json.loads(body)}
    assert set(users) == {
        "CN=hlj-0001",
        "CN=ops-admin",
        "CN=ops-metrics",
        "CN=ops-operator",
        "CN=ops-watch",
    }
    assert users["CN=hlj-0001"]["subscribe"]["allow"] == [
        "$MQTT.sub.>",
        "kiosk.v1.hlj-0001.cmd.req",
        "kiosk.v1.hlj-0001.shadow.desired",
        "kiosk.v1.*.cmd.res.hlj-0001.*",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("topic read kiosk/#\n", "before any user line"),
        ("pattern read kiosk/v1/%u.x/cmd\n", "cannot be a NATS subject token"),
        ("pattern read kiosk/#/x\n", "'#' only as the last level"),
        ("user a.b\n", "not a broker identity"),
        ("pattern deny kiosk/v1\n", "expected [read|write|readwrite] TOPIC"),
        ("include other.acl\n", "not understood"),
    ],
)
def test_what_the_cluster_could_not_enforce_is_refused_with_its_line(
    text: str, message: str
) -> None:
    with pytest.raises(AclError) as caught:
        parse("# comment\n\n" + text, "site.acl")
    assert "site.acl:3" in str(caught.value)
    assert message in str(caught.value)


def test_an_identity_that_cannot_be_a_subject_token_is_refused() -> None:
    with pytest.raises(AclError):
        site_acl().rules_for("kiosk.1")


@pytest.mark.fuzz
@given(st.text(max_size=400))
def test_any_text_parses_or_is_refused_by_line(text: str) -> None:
    try:
        acl = parse(text)
    except AclError as err:
        refusal = str(err)
    else:
        refusal = ""
    if refusal:
        assert refusal.startswith("acl:")
        return
    for rules in [acl.patterns, *acl.users.values()]:
        for rule in rules:
            assert rule.access in ("read", "write", "readwrite")


LEVEL = st.sampled_from(["kiosk", "v1", "%u", "+", "cmd", "res", "state", "a-b_c"])


@pytest.mark.fuzz
@given(st.lists(LEVEL, min_size=1, max_size=6), st.booleans())
def test_a_filter_becomes_a_subject_level_by_level(levels: List[str], hashed: bool) -> None:
    name = "/".join(levels + (["#"] if hashed else []))
    acl = parse(f"pattern write {name}\n")
    (rule,) = acl.rules_for("k-1")
    converted = subject(rule.topic).split(".")
    expected = ["k-1" if p == "%u" else "*" if p == "+" else p for p in levels] + (
        [">"] if hashed else []
    )
    assert converted == expected
    assert rule == Rule("write", name.replace("%u", "k-1"))


def files(directory: Path, name: str) -> NodeFiles:
    return NodeFiles(directory / "ca.crt", directory / f"{name}.crt", directory / f"{name}.key")


def test_a_node_routes_to_the_others_with_tls_and_replicates_three_times(tmp_path: Path) -> None:
    nodes = [Node(f"n{i}", f"10.0.0.{i}") for i in (1, 2, 3)]
    text = node_config(nodes[0], nodes, files(tmp_path, "n1"), tmp_path / "js")
    assert '"server_name": "n1"' in text
    assert '"nats-route://10.0.0.2:6222"' in text
    assert '"nats-route://10.0.0.1:6222"' not in text
    assert '"stream_replicas": 3' in text
    assert text.count('"verify_and_map": true') == 2  # NATS clients and MQTT
    assert '"verify": true' in text  # the routes
    assert text.rstrip().endswith("include users.conf")
    single = node_config(nodes[0], nodes[:1], files(tmp_path, "n1"), tmp_path / "js", replicas=1)
    assert '"cluster"' not in single
    with pytest.raises(ClusterConfigError):
        node_config(nodes[0], nodes[:2], files(tmp_path, "n1"), tmp_path / "js", replicas=3)


def test_an_access_node_serves_mqtt_and_routes_but_holds_no_stream(tmp_path: Path) -> None:
    stores = [Node(f"n{i}", f"10.0.0.{i}") for i in (1, 2, 3)]
    access = Node("a1", "10.0.1.1", store=False)
    nodes = [*stores, access]
    text = node_config(access, nodes, files(tmp_path, "a1"), tmp_path / "js")
    assert '"jetstream"' not in text
    assert '"mqtt"' in text
    assert '"stream_replicas": 3' in text  # the MQTT streams it creates live on the stores
    assert '"nats-route://10.0.0.1:6222"' in text
    assert "access node a1" in text
    store = node_config(stores[0], nodes, files(tmp_path, "n1"), tmp_path / "js")
    assert '"jetstream"' in store
    assert '"nats-route://10.0.1.1:6222"' in store
    with pytest.raises(ClusterConfigError, match="store nodes"):  # replicas count stores only
        node_config(access, [*stores[:2], access], files(tmp_path, "a1"), tmp_path / "js")


def test_the_shipped_cluster_configuration_is_the_generated_one(tmp_path: Path) -> None:
    out = tmp_path / "nats"
    subprocess.run(
        [
            *(sys.executable, "-m", "govkiosk.cli.main", "fleet", "cluster", "config"),
            *SHIPPED_ARGS,
            *("--out", str(out)),
        ],
        check=True,
        capture_output=True,
    )
    for path in sorted(out.iterdir()):
        shipped = SHIPPED / path.name
        assert shipped.read_text() == path.read_text().replace(str(ACL), "packaging/mosquitto/acl")
    assert sorted(p.name for p in SHIPPED.iterdir()) == sorted(p.name for p in out.iterdir())


def test_nats_server_accepts_a_generated_node_configuration(tmp_path: Path) -> None:
    nodes = [Node("n1", "127.0.0.1"), Node("n2", "127.0.0.2"), Node("n3", "127.0.0.3")]
    for name in ("ca", "n1"):
        (tmp_path / f"{name}.crt").write_text("")
    conf = tmp_path / "n1.conf"
    conf.write_text(node_config(nodes[0], nodes, files(tmp_path, "n1"), tmp_path / "js"))
    (tmp_path / "users.conf").write_text(users_config(site_acl(), [dn("hlj-0001")]))
    checked = subprocess.run(
        ["nats-server", "-t", "-c", str(conf)], capture_output=True, text=True, check=False
    )
    # The syntax and every option are accepted; only the (empty) TLS files are not.
    output = checked.stdout + checked.stderr
    assert "unknown field" not in output.lower(), output
    assert "parse error" not in output.lower(), output


def config_with(tmp_path: Path, ops: str) -> Path:
    path = tmp_path / "govkiosk.toml"
    for name in ("ca.crt", "k.crt", "k.key"):
        (tmp_path / name).write_text("")
    path.write_text(
        CONFIG
        + f'[ops]\nca = "{tmp_path}/ca.crt"\ncert = "{tmp_path}/k.crt"\nkey = "{tmp_path}/k.key"\n'
        + ops,
        encoding="utf-8",
    )
    return path


def test_ops_takes_every_node_of_a_cluster_and_keeps_host_and_port(tmp_path: Path) -> None:
    cluster = load_config(config_with(tmp_path, 'servers = ["n1.example:8883", "10.1.0.12:8884"]'))
    assert cluster.ops.enabled
    assert cluster.ops.addresses == [("n1.example", 8883), ("10.1.0.12", 8884)]
    single = load_config(config_with(tmp_path, 'host = "broker"\nport = 1883'))
    assert single.ops.addresses == [("broker", 1883)]


@pytest.mark.parametrize(
    "servers", ['["n1"]', '["n1:0"]', '["n1:70000"]', '["a:1", "a:1"]', '["x y:1"]']
)
def test_a_malformed_server_list_is_refused(tmp_path: Path, servers: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(config_with(tmp_path, f"servers = {servers}"))
    assert "ops.servers" in str(caught.value)


async def test_the_kiosk_moves_past_addresses_that_do_not_answer(
    site: Site, private_bus: PrivateBus, tmp_path: Path
) -> None:
    assert site.broker is not None
    dead = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    live = f"{site.broker.host}:{site.broker.tls_port}"
    events: List[Dict[str, Any]] = []
    async with running_kiosk(
        site, tmp_path / "kiosk", private_bus.address, servers=[dead[0], live, dead[1]]
    ) as kiosk:
        kiosk.daemon.bus.subscribe(
            OpsLinkChanged, lambda e: events.append({"state": e.state, "detail": e.detail})
        )
        await kiosk.connected()
        connected = [e["detail"] for e in events if e["state"] == "connected"]
        waits = [e["detail"] for e in events if e["state"] == "waiting"]
    assert connected == [live]
    assert len(waits) <= 2  # at most each dead address once before the live one


def test_the_link_starts_where_the_dice_say_and_waits_longer_each_round(tmp_path: Path) -> None:
    settings = OpsSettings(servers=("a:1", "b:2", "c:3"), connect_timeout=3.0)
    outbox = Outbox(Store(tmp_path), 10)
    state = (topic_name("k"), b"")
    link = Link("k", settings, EventBus(), outbox, will=state, goodbye=state, rng=lambda: 0.5)
    assert link.address == ("b", 2)  # int(0.5 × 3): a fleet spreads over the nodes
    timeouts = []
    for failures in range(0, 19, 3):
        link.failures = failures
        timeouts.append(link._connect_timeout())
    # Two rounds at the configured pace (a cluster electing leaders), then doubling.
    assert timeouts == [3.0, 3.0, 6.0, 12.0, 24.0, CONNECT_TIMEOUT_MAX, CONNECT_TIMEOUT_MAX]


def topic_name(kiosk_id: str) -> str:
    return f"kiosk/v1/{kiosk_id}/state"


@pytest.mark.fuzz
@given(st.text(max_size=80))
def test_a_node_argument_is_read_or_refused_by_name(text: str) -> None:
    try:
        node = parse_node(text)
    except ClusterConfigError as err:
        refusal = str(err)
    else:
        refusal = ""
    if refusal:
        assert repr(text) in refusal
        return
    assert 0 < node.mqtt_port < 65536
    assert 0 < node.cluster_port < 65536
    name, _, address = text.partition("=")
    assert (node.name, node.host) == (name, address.split(":")[0])
    assert node.mqtt_port == (int(address.split(":")[1]) if ":" in address else 8883)
