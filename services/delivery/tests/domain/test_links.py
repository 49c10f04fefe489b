from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt
import pytest

from bitloot_delivery.domain.links import LinkProblem, LinkRefused, RevealLinks, link_url

SECRET = "a-reveal-link-secret-of-at-least-32-chars"
LINKS = RevealLinks(SECRET, timedelta(minutes=15))


def test_a_link_opens_its_order_only_until_it_expires() -> None:
    order_id = uuid4()
    assert LINKS.verify(LINKS.issue(order_id)) == order_id
    stale = LINKS.issue(order_id, now=datetime.now(UTC) - timedelta(minutes=16))
    with pytest.raises(LinkRefused) as refused:
        LINKS.verify(stale)
    assert refused.value.problem is LinkProblem.EXPIRED
    assert refused.value.order_id == order_id


def test_an_expired_link_with_a_bad_signature_names_no_order() -> None:
    other = RevealLinks("another-secret-of-at-least-32-characters", timedelta(minutes=5))
    forged = other.issue(uuid4(), now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(LinkRefused) as refused:
        LINKS.verify(forged)
    assert refused.value.problem is LinkProblem.INVALID
    assert refused.value.order_id is None


@pytest.mark.parametrize(
    "token",
    [
        RevealLinks("another-secret-of-at-least-32-characters", timedelta(minutes=5)).issue(
            uuid4()
        ),
        jwt.encode(
            {"sub": str(uuid4()), "aud": "bitloot:order", "exp": datetime.now(UTC) + timedelta(1)},
            SECRET,
            algorithm="HS256",
        ),
        jwt.encode({"sub": str(uuid4()), "aud": "bitloot:reveal"}, SECRET, algorithm="HS256"),
        jwt.encode(
            {"sub": "nope", "aud": "bitloot:reveal", "exp": datetime.now(UTC) + timedelta(1)},
            SECRET,
            algorithm="HS256",
        ),
        "not.a.token",
    ],
    ids=["other-secret", "other-audience", "no-expiry", "subject-not-an-order", "garbage"],
)
def test_anything_but_our_own_reveal_token_is_invalid(token: str) -> None:
    with pytest.raises(LinkRefused) as refused:
        LINKS.verify(token)
    assert refused.value.problem is LinkProblem.INVALID


def test_the_link_is_the_public_url_and_the_token() -> None:
    assert link_url("https://keys.bitloot.io/", "abc") == "https://keys.bitloot.io/keys/abc"
