"""The mosquitto harness: plain and TLS round trips, per-kiosk ACLs, restart on the same ports."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path
from typing import Callable, Optional

import aiomqtt
import pytest

from harness.mosquitto import Broker, BrokerTls
from harness.pki import CertificateAuthority
from harness.process import wait_until

TIMEOUT = 20.0
# The per-kiosk rule a site broker uses (mqtt-ops.md): the CN is the username.
ACL = "pattern readwrite kiosk/v1/%u/#\n"


async def next_message(client: aiomqtt.Client) -> aiomqtt.Message:
    return await asyncio.wait_for(client.messages.__anext__(), TIMEOUT)


def tls_context(
    ca: Path, cert: Optional[Path] = None, key: Optional[Path] = None
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    if cert and key:
        context.load_cert_chain(str(cert), str(key))
    return context


async def test_plain_round_trip(mosquitto: Broker) -> None:
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as subscriber:
        await subscriber.subscribe("harness/plain", qos=1)
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as publisher:
            await publisher.publish("harness/plain", b"\x00ping\xff", qos=1)
        message = await next_message(subscriber)
    assert message.topic.value == "harness/plain"
    assert message.payload == b"\x00ping\xff"


async def test_restart_drops_clients_and_keeps_port_and_retained(mosquitto: Broker) -> None:
    port = mosquitto.port
    async with aiomqtt.Client(mosquitto.host, port) as client:
        await client.subscribe("harness/#", qos=1)
        await client.publish("harness/state", b"online", qos=1, retain=True)
        assert (await next_message(client)).payload == b"online"
        mosquitto.restart()
        with pytest.raises(aiomqtt.MqttError):
            await next_message(client)
    assert mosquitto.port == port
    async with aiomqtt.Client(mosquitto.host, port) as client:
        await client.subscribe("harness/state", qos=1)
        message = await next_message(client)
    assert message.retain
    assert message.payload == b"online"


def test_command_line_clients_round_trip(mosquitto: Broker) -> None:
    address = ["-h", mosquitto.host, "-p", str(mosquitto.port)]
    subscriber = subprocess.Popen(
        ["mosquitto_sub", *address, "-i", "harness-sub", "-t", "harness/cli", "-C", "1"],
        stdout=subprocess.PIPE,
    )
    try:
        # The broker logs the SUBACK: from then on the subscription is in place.
        wait_until(lambda: "Sending SUBACK to harness-sub" in mosquitto.output(), TIMEOUT, "SUBACK")
        subprocess.run(
            ["mosquitto_pub", *address, "-t", "harness/cli", "-m", "hello"],
            check=True,
            timeout=TIMEOUT,
        )
        out, _ = subscriber.communicate(timeout=TIMEOUT)
    finally:
        subscriber.kill()
        subscriber.wait()
    assert out == b"hello\n"


@pytest.fixture
def ca() -> CertificateAuthority:
    return CertificateAuthority()


@pytest.fixture
def tls_broker(
    make_mosquitto: Callable[[Optional[BrokerTls]], Broker],
    ca: CertificateAuthority,
    tmp_path: Path,
) -> Broker:
    acl = tmp_path / "acl"
    acl.write_text(ACL)
    return make_mosquitto(BrokerTls.issue(ca, tmp_path / "pki", acl))


def kiosk_client(
    broker: Broker, ca: CertificateAuthority, directory: Path, kiosk_id: str
) -> aiomqtt.Client:
    cert, key = ca.issue_client(kiosk_id).write(directory, kiosk_id)
    assert broker.tls_port is not None
    return aiomqtt.Client(
        broker.host,
        broker.tls_port,
        identifier=kiosk_id,
        tls_context=tls_context(ca.write(directory), cert, key),
    )


async def test_tls_acl_confines_each_kiosk_to_its_prefix(
    tls_broker: Broker, ca: CertificateAuthority, tmp_path: Path
) -> None:
    kiosk_a = kiosk_client(tls_broker, ca, tmp_path, "kiosk-a")
    kiosk_b = kiosk_client(tls_broker, ca, tmp_path, "kiosk-b")
    async with kiosk_a as a, kiosk_b as b:
        await a.subscribe("kiosk/v1/kiosk-a/#", qos=1)
        await b.subscribe("kiosk/v1/kiosk-b/#", qos=1)

        await a.publish("kiosk/v1/kiosk-a/state", b"a-online", qos=1)
        own = await next_message(a)
        assert (own.topic.value, own.payload) == ("kiosk/v1/kiosk-a/state", b"a-online")

        # The broker has handled A's publish once it acknowledged it; had the ACL let it
        # through, it would reach B before B's own later message.
        await a.publish("kiosk/v1/kiosk-b/cmd/req", b"forged", qos=1)
        await b.publish("kiosk/v1/kiosk-b/evt/sentinel", b"b-own", qos=1)
        first = await next_message(b)
        assert (first.topic.value, first.payload) == ("kiosk/v1/kiosk-b/evt/sentinel", b"b-own")
    wait_until(
        lambda: "Denied PUBLISH from kiosk-a" in tls_broker.output(), TIMEOUT, "denial logged"
    )


async def test_tls_listener_requires_a_client_certificate(
    tls_broker: Broker, ca: CertificateAuthority, tmp_path: Path
) -> None:
    assert tls_broker.tls_port is not None
    # Under TLS 1.3 the broker's "certificate required" alert arrives after the client's
    # handshake has finished, and paho then only times out: keep that wait short and read the
    # reason in the broker's log.
    anonymous = aiomqtt.Client(
        tls_broker.host,
        tls_broker.tls_port,
        tls_context=tls_context(ca.write(tmp_path)),
        timeout=2,
    )
    with pytest.raises(aiomqtt.MqttError):
        async with anonymous:
            pass
    wait_until(
        lambda: "peer did not return a certificate" in tls_broker.output(), TIMEOUT, "refusal"
    )
