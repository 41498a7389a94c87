"""Release manifests: signature first, then shape, then the version rules (pure)."""

from __future__ import annotations

import json
import subprocess
from typing import Any, Dict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.ops.signing import SM2, OperatorSigner
from govkiosk.updates import manifest, versions
from govkiosk.updates.errors import ManifestError, SignatureError, UpdateError, VersionError
from govkiosk.updates.manifest import ReleaseKeyPin

KEY = OperatorSigner.generate("release-2026")
OTHER = OperatorSigner.generate("release-2026")  # same id, another key: a forger
SM2_KEY = OperatorSigner.generate("release-gm", SM2)
PINS = [ReleaseKeyPin(KEY.key_id, KEY.public_b64())]
NOW = 1_800_000_000.0
DIGEST = "ab" * 32


def body(version: str = "0.2.0", **extra: Any) -> Dict[str, Any]:
    release: Dict[str, Any] = {
        "format": 1,
        "product": "govkiosk",
        "version": version,
        "min_version": "0.1.0",
        "not_after": NOW + 86400,
        "rollback": False,
        "packages": [
            {"file": f"govkiosk_{version}_all.deb", "format": "deb", "size": 1000, "sha256": DIGEST}
        ],
    }
    release.update(extra)
    return release


def test_a_signed_release_verifies_and_names_its_packages() -> None:
    release = manifest.verify(manifest.sign(body(), KEY), PINS)
    assert release.version == "0.2.0"
    assert release.packages[0].file == "govkiosk_0.2.0_all.deb"
    assert release.total_size == 1000
    assert len(release.digest) == 64
    manifest.applies(release, "0.1.0", NOW)  # no exception: it applies


def test_the_json_text_verifies_as_the_object_does() -> None:
    text = json.dumps(manifest.sign(body(), KEY))
    assert manifest.verify(text, PINS).version == "0.2.0"
    assert manifest.verify(text.encode(), PINS).version == "0.2.0"


def test_an_sm2_release_key_verifies_when_pinned_for_sm2() -> None:
    signed = manifest.sign(body(), SM2_KEY)
    assert signed["sig_alg"] == "sm2-sm3"
    pin = ReleaseKeyPin(SM2_KEY.key_id, SM2_KEY.public_b64(), SM2)
    assert manifest.verify(signed, [pin]).version == "0.2.0"
    # The same key pinned as Ed25519 never verifies it.
    with pytest.raises(SignatureError, match="sig_alg"):
        manifest.verify(signed, [ReleaseKeyPin(SM2_KEY.key_id, SM2_KEY.public_b64())])


def test_refusals_name_what_is_wrong() -> None:
    good = manifest.sign(body(), KEY)
    with pytest.raises(SignatureError, match="does not verify"):
        manifest.verify(manifest.sign(body(), OTHER), PINS)
    with pytest.raises(SignatureError, match="not a release key pinned"):
        manifest.verify({**good, "key_id": "someone"}, PINS)
    tampered = {**good, "release": {**good["release"], "min_version": "0"}}
    with pytest.raises(SignatureError, match="does not verify"):
        manifest.verify(tampered, PINS)
    bigger = json.loads(json.dumps(good))
    bigger["release"]["packages"][0]["size"] = 10**9
    with pytest.raises(SignatureError):
        manifest.verify(bigger, PINS)
    with pytest.raises(ManifestError, match="expected a JSON object"):
        manifest.verify({"release": {}}, PINS)
    with pytest.raises(ManifestError, match="over 64 KiB"):
        manifest.verify("x" * (65 * 1024), PINS)
    with pytest.raises(SignatureError, match="not base64"):
        manifest.verify({**good, "signature": "***"}, PINS)


def test_the_signature_is_checked_before_the_shape() -> None:
    # A forged release with a bad shape is refused for its signature, not its shape: the
    # kiosk reads nothing of an unsigned document.
    forged = manifest.sign(body(packages="nonsense"), OTHER)
    with pytest.raises(SignatureError):
        manifest.verify(forged, PINS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"product": "other"}, "product"),
        ({"format": 2}, "format"),
        ({"version": "../1"}, "version"),
        ({"packages": []}, "packages"),
        (
            {"packages": [{"file": "../x.deb", "format": "deb", "size": 1, "sha256": DIGEST}]},
            "file",
        ),
        ({"packages": [{"file": "x.deb", "format": "rpm", "size": 1, "sha256": DIGEST}]}, "format"),
        ({"packages": [{"file": "x.deb", "format": "deb", "size": 0, "sha256": DIGEST}]}, "size"),
        ({"packages": [{"file": "x.deb", "format": "deb", "size": 1, "sha256": "AB"}]}, "sha256"),
        ({"not_after": "tomorrow"}, "not_after"),
        ({"rollback": "yes"}, "rollback"),
        ({"surprise": 1}, "unknown"),
    ],
)
def test_a_signed_release_of_the_wrong_shape_is_refused(
    change: Dict[str, Any], message: str
) -> None:
    with pytest.raises(ManifestError, match=message):
        manifest.verify(manifest.sign(body(**change), KEY), PINS)


def test_version_rules() -> None:
    newer = manifest.verify(manifest.sign(body("0.2.0"), KEY), PINS)
    with pytest.raises(VersionError, match="is the version installed"):
        manifest.applies(newer, "0.2.0", NOW)
    with pytest.raises(VersionError, match="older than the installed"):
        manifest.applies(newer, "0.3.0", NOW)
    with pytest.raises(VersionError, match=r"needs at least 0\.1\.0"):
        manifest.applies(newer, "0.0.9", NOW)
    with pytest.raises(VersionError, match="expired"):
        manifest.applies(newer, "0.1.0", NOW + 2 * 86400)
    with pytest.raises(VersionError, match="bytes of packages"):
        manifest.applies(newer, "0.1.0", NOW, max_bytes=999)
    rollback = manifest.verify(
        manifest.sign(body("0.1.0", rollback=True, min_version="0"), KEY), PINS
    )
    manifest.applies(rollback, "0.2.0", NOW)  # a signed rollback may go back


@pytest.mark.parametrize(
    "ordered",
    [
        ["0.1.0~rc1", "0.1.0", "0.1.0-2", "0.1.0.1", "0.1.1", "0.2.0", "0.10.0", "1.0.0"],
        ["1.0~a", "1.0", "1.0a", "1.0.0", "1.0.0-1", "1.0.0-1.1", "1.a"],
    ],
)
def test_versions_sort_as_the_package_managers_do(ordered: list) -> None:  # type: ignore[type-arg]
    assert sorted(ordered, key=versions.key) == ordered
    assert versions.newer("0.10.0", "0.9.9")
    assert not versions.newer("0.1.0", "0.1.0")


@pytest.mark.fuzz
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=5),
        max_leaves=20,
    )
)
def test_any_document_is_refused_with_an_update_error(document: Any) -> None:
    for candidate in (
        document,
        {"release": document, "key_id": KEY.key_id, "sig_alg": "ed25519", "signature": "AAAA"},
    ):
        with pytest.raises(UpdateError):
            manifest.verify(candidate, PINS)
        with pytest.raises(UpdateError):
            manifest.verify(json.dumps(candidate), PINS)


@pytest.mark.fuzz
@given(
    st.dictionaries(
        st.sampled_from([*sorted(manifest.RELEASE_KEYS), "x"]),
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=70)
        | st.lists(
            st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=70), max_size=5),
            max_size=3,
        ),
        max_size=9,
    )
)
def test_any_signed_release_either_parses_or_is_refused_with_a_manifest_error(
    raw: Dict[str, Any],
) -> None:
    try:
        release = manifest.verify(manifest.sign(raw, KEY), PINS)
    except ManifestError:
        return
    assert versions.VERSION.fullmatch(release.version)
    assert all(p.size > 0 for p in release.packages)


@pytest.mark.fuzz
@settings(max_examples=60)  # each case runs dpkg: the reference
@given(
    st.lists(
        st.from_regex(r"[0-9][a-z0-9.+~]{0,8}(-[0-9a-z.~]{1,4})?", fullmatch=True),
        min_size=2,
        max_size=2,
    )
)
def test_version_order_is_dpkgs(pair: list) -> None:  # type: ignore[type-arg]
    a, b = pair
    for op, expected in (("lt", versions.compare(a, b) < 0), ("eq", versions.compare(a, b) == 0)):
        dpkg = subprocess.run(["dpkg", "--compare-versions", a, op, b], check=False)
        assert (dpkg.returncode == 0) == expected, (a, op, b)
