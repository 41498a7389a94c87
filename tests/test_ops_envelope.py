"""The pure parts of ops: the envelope parser (fuzzed), signatures, the drop-in writer,
the reconnect backoff."""

from __future__ import annotations

import base64
import json
import sys
import time
from typing import Any, Dict, Optional

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from govkiosk.cli.fleet import pinned
from govkiosk.confset import dumps
from govkiosk.fleet.client import command_body, seal_command
from govkiosk.fleet.pki import CertificateAuthority
from govkiosk.ops.envelope import (
    Command,
    EnvelopeError,
    Reason,
    Reply,
    Status,
    parse_command,
    signed_bytes,
    topic,
)
from govkiosk.ops.link import Backoff
from govkiosk.ops.settings import OperatorKey
from govkiosk.ops.signing import (
    ED25519,
    SM2,
    KioskSigner,
    OperatorSigner,
    issued_by,
    open_reply,
    operator_valid,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SIGNER = OperatorSigner.generate("ops-key-1")
LIMIT = 65536

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def reason_of(payload: bytes) -> Optional[Reason]:
    """The parser's refusal, or ``None`` when it returned a command."""
    try:
        command = parse_command(payload, LIMIT)
    except EnvelopeError as err:
        return err.reason
    assert isinstance(command, Command)
    return None


def valid_body(**changes: Any) -> Dict[str, Any]:
    body = command_body(SIGNER, "k-1", "status", {}, role="viewer", issuer="t", now=time.time())
    body.update(changes)
    return body


@pytest.mark.fuzz
@given(st.binary(max_size=2048))
def test_any_bytes_parse_or_refuse(data: bytes) -> None:
    assert reason_of(data) in (None, Reason.MALFORMED, Reason.OVERSIZED)


@pytest.mark.fuzz
@given(st.dictionaries(st.sampled_from([*valid_body(), "sig", "extra"]), json_values))
def test_any_json_object_parses_or_is_malformed(document: Dict[str, Any]) -> None:
    assert reason_of(json.dumps(document).encode()) in (None, Reason.MALFORMED)


@pytest.mark.fuzz
@given(st.sampled_from(sorted(valid_body())), json_values)
def test_one_field_changed_still_parses_or_is_malformed(name: str, value: Any) -> None:
    try:
        payload = SIGNER.seal(topic("k-1", "cmd", "req"), valid_body(**{name: value}))
    except ValueError:  # infinity cannot even be signed
        assume(False)
        return
    reason = reason_of(payload)
    assert reason in (None, Reason.MALFORMED)
    if reason is None:
        assert parse_command(payload, LIMIT).body()[name] == value


@pytest.mark.parametrize("algorithm", [ED25519, SM2])
def test_sealed_command_verifies_only_on_its_topic_and_with_its_algorithm(algorithm: str) -> None:
    signer = OperatorSigner.generate("ops-key-1", algorithm)
    body = command_body(signer, "k-1", "status", {}, role="viewer", issuer="t", now=time.time())
    command = parse_command(seal_command(signer, body), LIMIT)
    assert command.sig_alg == ("" if algorithm == ED25519 else SM2)
    own = signed_bytes(topic("k-1", "cmd", "req"), command.body())
    other = signed_bytes(topic("k-2", "cmd", "req"), command.body())
    assert operator_valid(algorithm, signer.public_b64(), own, command.sig)
    assert not operator_valid(algorithm, signer.public_b64(), other, command.sig)


@pytest.mark.parametrize("algorithm", [ED25519, SM2])
def test_operator_keys_survive_their_pem_and_pin_with_their_algorithm(
    tmp_path: Any, algorithm: str
) -> None:
    signer = OperatorSigner.generate("ops-key-1", algorithm)
    path = tmp_path / "ops-key-1.key"
    path.write_bytes(signer.private_pem())
    loaded = OperatorSigner.load(path)
    assert loaded.algorithm == algorithm
    assert loaded.public_b64() == signer.public_b64()
    table = tomllib.loads(pinned(loaded, ["viewer"]))["ops"]["operators"][0]
    assert table.get("algorithm", ED25519) == algorithm
    assert OperatorKey(**{**table, "roles": tuple(table["roles"])}).config_problems() == []


def test_a_key_pinned_under_the_wrong_algorithm_is_a_config_error() -> None:
    ed, sm = OperatorSigner.generate("a"), OperatorSigner.generate("b", SM2)
    assert OperatorKey("a", ed.public_b64(), ("viewer",), "sm2-sm3").config_problems()
    assert OperatorKey("b", sm.public_b64(), ("viewer",), "ed25519").config_problems()
    off_curve = base64.b64encode(b"\x04" + bytes(64)).decode()
    assert OperatorKey("c", off_curve, ("viewer",), "sm2-sm3").config_problems()


def test_an_unknown_signature_algorithm_is_malformed() -> None:
    payload = SIGNER.seal(topic("k-1", "cmd", "req"), valid_body(sig_alg="rsa-md5"))
    assert reason_of(payload) is Reason.MALFORMED


def test_out_of_range_numbers_are_malformed() -> None:
    payload = seal_command(SIGNER, valid_body()).replace(b'"params": {}', b'"params": {"n": 1e999}')
    assert reason_of(payload) is Reason.MALFORMED


def test_oversized_is_refused_before_parsing() -> None:
    assert reason_of(b"x" * (LIMIT + 1)) is Reason.OVERSIZED


def test_replies_are_signed_by_the_kiosk_certificate(tmp_path: Any) -> None:
    ca, other = CertificateAuthority(), CertificateAuthority()
    credential = ca.issue_client("k-1")
    _cert, key = credential.write(tmp_path, "k-1")
    name = topic("k-1", "cmd", "res", "c1")
    reply = Reply("c1", "k-1", Status.SUCCEEDED, 1.0, result={"ok": True}, method="status")
    payload = KioskSigner(key).seal(name, reply)
    assert open_reply(payload, name, credential.certificate) == reply
    assert issued_by(credential.certificate, ca.credential.certificate)
    assert not issued_by(credential.certificate, other.credential.certificate)
    tampered = payload.replace(b"SUCCEEDED", b"FAILED")
    for bad, where in ((tampered, name), (payload, topic("k-1", "cmd", "res", "c2"))):
        with pytest.raises(EnvelopeError, match="bad_signature"):
            open_reply(bad, where, credential.certificate)


tables = st.recursive(
    st.booleans() | st.integers() | st.text() | st.lists(st.integers(), max_size=3),
    lambda inner: st.dictionaries(st.text(min_size=1), inner, min_size=1, max_size=3),
    max_leaves=12,
)


@pytest.mark.fuzz
@given(st.dictionaries(st.text(min_size=1), tables, max_size=4))
def test_dropin_writer_round_trips_through_toml(document: Dict[str, Any]) -> None:
    assert tomllib.loads(dumps(document)) == document


def test_backoff_is_capped_jittered_and_longer_after_refusal() -> None:
    backoff = Backoff(1.0, 60.0, 300.0)
    assert [backoff.delay(n, False, lambda: 1.0) for n in (1, 2, 3, 10)] == [1.0, 2.0, 4.0, 60.0]
    assert backoff.delay(3, False, lambda: 0.0) == 2.0
    assert backoff.delay(1, True, lambda: 0.0) == 150.0
