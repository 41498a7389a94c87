"""A kiosk stand-in in its own process, for the fleet metrics tests: it connects like a
kiosk (TLS, its own certificate, the retained ``state`` as its Last Will), publishes its
birth, one telemetry document and one alarm, prints ``ready`` and waits to be killed —
a SIGKILL is a kiosk losing power, and the broker publishes the Will.

    python -m harness.fleetkiosk HOST PORT CA CERT KEY KIOSK_ID
"""

from __future__ import annotations

import ssl
import sys
import threading
import time

import paho.mqtt.client as mqtt

from harness.fleetdocs import alarm, state, telemetry


def main(argv: list) -> int:  # type: ignore[type-arg]
    host, port, ca, cert, key, kiosk_id = argv
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=kiosk_id)
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(cert, key)
    client.tls_set_context(context)
    base = f"kiosk/v1/{kiosk_id}"
    client.will_set(f"{base}/state", state(kiosk_id, online=False, reason="lost"), 1, True)
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    client.connect(host, int(port), keepalive=30)
    client.loop_start()
    if not connected.wait(20):
        return 1
    items = {"id_card_print": {"sessions": {"done": 4}, "evaluations": {"5": 2}}}
    for topic, payload, retain in (
        (f"{base}/state", state(kiosk_id), True),
        (f"{base}/telemetry", telemetry(kiosk_id, time.time(), items=items), False),
        (f"{base}/evt/alarm", alarm(kiosk_id, f"{kiosk_id}-1", "paper_low", "warning"), False),
    ):
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(20)
    print("ready", flush=True)
    threading.Event().wait()  # until killed
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
