"""``[backends]``: the route table from (item, region) to a department platform (§5.2).

::

    [backends]
    key_file = "/etc/govkiosk/backends/kiosk.key"   # this kiosk's Ed25519 key
    key_id = "kiosk-hlj-0001"                       # "" = the kiosk id
    default_url = "https://zwfw.hlj.example/api"    # items no route names

    [[backends.routes]]            # 跨省通办: Jilin residents' items go to Jilin's platform
    region = "22"                  # a prefix of the six-digit division code
    url = "https://zwfw.jl.example/api"
    key_id = "hlj-0001@jl"         # the id that platform enrolled this kiosk under

    [[backends.routes]]
    item = "…"                     # one item code ("*" = every item)
    region = "2301"
    url = "https://…"
    timeout = 30.0                 # this platform is slow

Routes without a ``timeout``/``connect_timeout``/``key_id`` use the section's.

For the item debugging checklist (``govkioskctl check``, §6.4.2) a platform publishes a
synthetic test identity (``test_id_number`` + ``test_name``) its test mode answers for,
or at least a ``health_url``. They belong to one platform: a route's are its own, and
the section's apply to the items that go to ``default_url``::

    [[backends.routes]]
    region = "22"
    url = "https://zwfw.jl.example/api"
    test_id_number = "220102195801010017"   # published by the department
    test_name = "测试样张"
    health_url = "https://zwfw.jl.example/api/v1/health"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..devices.idcard.cardtext import valid_id_number
from ..fields import matches, positive, required, setting

SECONDS = "a number of seconds > 0"
URL = matches(r"https?://[^\s/]+(/\S*)?")
URL_EXPECT = 'an http:// or https:// URL such as "https://zwfw.example/api"'


TEST_ID_EXPECT = '"" or an 18-character ID number with a valid check character'
HEALTH_EXPECT = f'"" or {URL_EXPECT}'


def _optional_positive(value: Optional[float]) -> bool:
    return value is None or value > 0


def _optional_url(value: str) -> bool:
    return not value or URL(value)


def _test_problems(id_number: str, name: str) -> List[Tuple[str, str]]:
    """A test identity is both its number and its name, or neither."""
    if id_number and not name.strip():
        return [("test_name", "required with test_id_number: the test identity's name")]
    if name.strip() and not id_number:
        return [("test_id_number", "required with test_name: the test identity's number")]
    return []


@dataclass(frozen=True)
class Route:
    """Which platform answers an item for a region."""

    #: The department platform's API address this route sends its requests to.
    url: str = required(expect=URL_EXPECT, check=URL)
    #: The item code this route serves, or "*" for every item; a route naming the item wins over
    #: "*".
    item: str = setting("*", expect='an item code or "*"', check=lambda v: bool(v.strip()))
    #: The division codes this route serves, as a prefix: "22" for every applicant from Jilin,
    #: "2301" for Harbin, "" for all. The longest matching prefix wins.
    region: str = setting(
        "", expect="a prefix (0-6 digits) of a division code", check=matches(r"\d{0,6}")
    )
    #: The id that platform enrolled this kiosk's key under; "" means [backends] key_id.
    key_id: str = ""
    #: Seconds to establish a connection to this platform; unset: `[backends] connect_timeout`.
    connect_timeout: Optional[float] = setting(None, expect=SECONDS, check=_optional_positive)
    #: Seconds one request to this platform may take (connect, send, answer); unset: `[backends]
    #: timeout`. Raise it for a slow platform.
    timeout: Optional[float] = setting(None, expect=SECONDS, check=_optional_positive)
    #: The synthetic test identity this platform answers in test mode (govkioskctl check);
    #: "" = none published. Set together with test_name.
    test_id_number: str = setting(
        "", expect=TEST_ID_EXPECT, check=lambda v: not v or valid_id_number(v)
    )
    #: The name of the platform's test identity; set together with test_id_number.
    test_name: str = ""
    #: Where govkioskctl check asks whether the platform is up when it has no test
    #: identity (GET, 2xx = up); "" = none.
    health_url: str = setting("", expect=HEALTH_EXPECT, check=_optional_url)

    def config_problems(self) -> List[Tuple[str, str]]:
        return _test_problems(self.test_id_number, self.test_name)


@dataclass(frozen=True)
class BackendsSettings:
    """How the kiosk reaches department platforms."""

    #: This kiosk's Ed25519 private key (PEM, PKCS#8) that signs every request.
    key_file: str = "/etc/govkiosk/backends/kiosk.key"
    #: The id departments know the key by; "" means the kiosk id.
    key_id: str = ""
    #: Where items go that no route names; "" means such items have no backend.
    default_url: str = setting("", expect=f'"" or {URL_EXPECT}', check=lambda v: not v or URL(v))
    #: Establishing the connection must succeed within this time.
    connect_timeout: float = setting(3.0, expect=SECONDS, check=positive)
    #: One attempt (connect, send, answer) must finish within this time.
    timeout: float = setting(20.0, expect=SECONDS, check=positive)
    #: Further attempts after a network failure, 5xx or timeout (idempotent requests only).
    retries: int = setting(2, expect="a whole number between 0 and 5", check=lambda v: 0 <= v <= 5)
    #: Wait before the first retry; doubled for each further one.
    retry_backoff: float = setting(0.5, expect=SECONDS, check=positive)
    #: The test identity of the default_url platform (govkioskctl check runs every item
    #: end to end with it in test mode); "" = none published. Set with test_name.
    test_id_number: str = setting(
        "", expect=TEST_ID_EXPECT, check=lambda v: not v or valid_id_number(v)
    )
    #: The name of the default_url platform's test identity.
    test_name: str = ""
    #: The default_url platform's health call (GET, 2xx = up), used by govkioskctl check
    #: when there is no test identity; "" = none.
    health_url: str = setting("", expect=HEALTH_EXPECT, check=_optional_url)
    routes: Tuple[Route, ...] = ()

    def config_problems(self) -> List[Tuple[str, str]]:
        return _test_problems(self.test_id_number, self.test_name)
