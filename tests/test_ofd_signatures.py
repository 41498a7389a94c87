"""Each signature's protected files: the sealed fixtures match; any file changed, removed
or added after signing fails with its name; the parts a seal verifier needs come back."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes

from govkiosk.ofd.errors import OfdError, ProtectedFileError
from govkiosk.ofd.model import Box, read_ofd
from govkiosk.ofd.signatures import (
    SM2_SM3_SIGNATURE_OID,
    check_signature,
    check_signatures,
    digest_for,
)
from harness.ofdfiles import entry, fixture, rebuild

V4 = "SESV4SignDoc"
SIGNATURE = "Doc_0/Signs/Sign_0/Signature.xml"


def test_v4_sealed_document_matches_and_hands_over_its_parts() -> None:
    data = fixture(V4)
    (parts,) = check_signatures(read_ofd(data))
    assert parts.signature_xml == entry(data, SIGNATURE)
    assert parts.signed_value == entry(data, "Doc_0/Signs/Sign_0/SignedValue.dat")
    assert parts.seal_file == entry(data, "Doc_0/Signs/Sign_0/Seal.esl")
    assert parts.signed_value[:1] == b"\x30"  # a DER SEQUENCE: the SES_Signature
    assert parts.provider.name == "ofdrw-sign"
    assert parts.provider.company == "ofdrw"
    assert parts.method == SM2_SM3_SIGNATURE_OID
    (stamp,) = parts.stamp_annots
    assert (stamp.page_ref, stamp.boundary) == ("1", Box(50, 50, 40, 40))
    assert set(parts.protected) == {
        "OFD.xml",
        "Doc_0/PublicRes.xml",
        "Doc_0/Pages/Page_0/Content.xml",
        "Doc_0/Signs/Sign_0/Seal.esl",
        "Doc_0/Document.xml",
    }
    assert parts.unprotected == ()


def test_invoice_signed_with_the_sm3_oid_matches() -> None:
    (parts,) = check_signatures(read_ofd(fixture("signedFile")))
    assert len(parts.protected) == 13
    assert parts.seal_file is None
    assert "Doc_0/Res/image_80.jb2" in parts.protected


def test_keyword_was_edited_after_signing() -> None:
    # ofdrw's keyword fixture: its page and OFD.xml were rewritten after the seal was applied
    document = read_ofd(fixture("keyword"))
    with pytest.raises(ProtectedFileError) as caught:
        check_signatures(document)
    assert (caught.value.path, caught.value.reason) == ("OFD.xml", "changed")
    assert "OFD.xml was changed" in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [
        "Doc_0/Pages/Page_0/Content.xml",
        "Doc_0/Document.xml",
        "OFD.xml",
        "Doc_0/PublicRes.xml",
        "Doc_0/Signs/Sign_0/Seal.esl",
    ],
)
def test_a_changed_protected_file_fails_by_name(name: str) -> None:
    data = fixture(V4)
    changed = entry(data, name) + b"\n"
    with pytest.raises(ProtectedFileError) as caught:
        check_signatures(read_ofd(rebuild(data, replace={name: changed})))
    assert (caught.value.path, caught.value.reason) == (name, "changed")


def test_the_text_changed_in_place_fails() -> None:
    data = fixture(V4)
    page = "Doc_0/Pages/Page_0/Content.xml"
    forged = entry(data, page).replace("你好呀".encode(), "再见了".encode())
    with pytest.raises(ProtectedFileError, match=r"Content\.xml was changed"):
        check_signatures(read_ofd(rebuild(data, replace={page: forged})))


def test_a_removed_protected_file_fails_by_name() -> None:
    data = fixture("signedFile")
    with pytest.raises(ProtectedFileError) as caught:
        check_signatures(read_ofd(rebuild(data, drop=["Doc_0/Tags/CustomTag.xml"])))
    assert (caught.value.path, caught.value.reason) == ("Doc_0/Tags/CustomTag.xml", "removed")


def test_an_added_file_fails_by_name_unless_listed_on_request() -> None:
    data = fixture(V4)
    added = rebuild(data, add={"Doc_0/Annotations.xml": b"<Annotations/>"})
    with pytest.raises(ProtectedFileError) as caught:
        check_signatures(read_ofd(added))
    assert (caught.value.path, caught.value.reason) == ("Doc_0/Annotations.xml", "added")
    (parts,) = check_signatures(read_ofd(added), strict=False)
    assert parts.unprotected == ("Doc_0/Annotations.xml",)


def test_a_replaced_signed_value_or_seal_is_the_verifiers_to_catch() -> None:
    # SignedValue.dat is not among the references (it cannot sign itself): the digests
    # still match and the changed bytes reach the SES verifier, which must refuse them.
    data = fixture(V4)
    name = "Doc_0/Signs/Sign_0/SignedValue.dat"
    forged = entry(data, name)[:-1] + b"\x00"
    (parts,) = check_signatures(read_ofd(rebuild(data, replace={name: forged})))
    assert parts.signed_value == forged


def test_a_rewritten_digest_breaks_what_the_seal_signs() -> None:
    # An attacker who changes a page and puts its new digest into Signature.xml passes
    # the file check; the Signature.xml bytes handed over differ, so the SES signature
    # over them fails at the verifier.
    data = fixture(V4)
    page = "Doc_0/Pages/Page_0/Content.xml"
    forged_page = entry(data, page).replace("你好呀".encode(), "再见了".encode())
    hasher = hashes.Hash(hashes.SM3())
    hasher.update(forged_page)
    old = base64.b64encode(_sm3(entry(data, page))).decode().encode()
    new = base64.b64encode(hasher.finalize()).decode().encode()
    signature = entry(data, SIGNATURE)
    assert old in signature
    forged_signature = signature.replace(old, new)
    tampered = rebuild(data, replace={page: forged_page, SIGNATURE: forged_signature})
    (parts,) = check_signatures(read_ofd(tampered))
    assert parts.signature_xml == forged_signature != signature


def _sm3(data: bytes) -> bytes:
    hasher = hashes.Hash(hashes.SM3())
    hasher.update(data)
    return hasher.finalize()


def test_sm3_matches_the_published_vector() -> None:
    # GB/T 32905-2016 appendix A, example 1: SM3("abc")
    assert _sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("SM3", "sm3"),
        ("1.2.156.10197.1.401", "sm3"),
        ("SHA256", "sha256"),
        ("sha-1", "sha1"),
        ("", "sm3"),
    ],
)
def test_digest_methods_by_name_and_oid(method: str, name: str) -> None:
    assert digest_for(method).name == name


def test_sha256_references_are_checked_and_unknown_methods_refused() -> None:
    data = fixture(V4)
    document = read_ofd(data)
    signature = entry(data, SIGNATURE).decode()
    for reference in document.signatures[0].references:
        old = base64.b64encode(reference.check_value).decode()
        new = base64.b64encode(hashlib.sha256(entry(data, reference.path)).digest()).decode()
        signature = signature.replace(old, new)
    resigned = rebuild(
        data,
        replace={
            SIGNATURE: signature.replace('CheckMethod="SM3"', 'CheckMethod="SHA256"').encode()
        },
    )
    (parts,) = check_signatures(read_ofd(resigned))
    assert len(parts.protected) == 5
    unknown = rebuild(
        data,
        replace={
            SIGNATURE: entry(data, SIGNATURE).replace(b'CheckMethod="SM3"', b'CheckMethod="MD5"')
        },
    )
    with pytest.raises(ProtectedFileError) as caught:
        check_signature(read_ofd(unknown), read_ofd(unknown).signatures[0])
    assert caught.value.reason == "method"


def test_a_missing_signed_value_is_an_ofd_error() -> None:
    data = fixture(V4)
    with pytest.raises(OfdError, match=r"SignedValue\.dat is missing"):
        check_signatures(read_ofd(rebuild(data, drop=["Doc_0/Signs/Sign_0/SignedValue.dat"])))
