"""Admin session tokens: signed by the admin service, verified elsewhere with the public
key only, and never interchangeable with order tokens."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from bitloot_runtime.tokens import (
    AdminTokenSigner,
    AdminTokenVerifier,
    InvalidToken,
    OrderTokenSigner,
    OrderTokenVerifier,
    generate_key_pair,
    load_private_key,
    parse_public_keys,
)

PRIVATE, PUBLIC = generate_key_pair()
SIGNER = AdminTokenSigner("a1", load_private_key(PRIVATE), timedelta(minutes=30))
VERIFIER = AdminTokenVerifier(parse_public_keys(f"a1:{PUBLIC}"))


def test_an_admin_token_names_its_admin_to_a_holder_of_the_public_key() -> None:
    assert VERIFIER.verify(SIGNER.issue("alice")) == "alice"


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, "token_missing"),
        ("not-a-jwt", "token_invalid"),
        (SIGNER.issue("alice", now=datetime.now(UTC) - timedelta(hours=1)), "token_expired"),
        (
            AdminTokenSigner("a2", load_private_key(PRIVATE), timedelta(minutes=5)).issue("a"),
            "token_invalid",
        ),
    ],
    ids=["missing", "garbage", "expired", "unknown key id"],
)
def test_an_admin_token_that_grants_nothing_is_refused_with_its_reason(
    token: str | None, code: str
) -> None:
    with pytest.raises(InvalidToken) as refused:
        VERIFIER.verify(token)
    assert refused.value.code == code


def test_order_and_admin_tokens_signed_by_one_key_are_not_interchangeable() -> None:
    order_id = uuid4()
    order_token = OrderTokenSigner("a1", load_private_key(PRIVATE), timedelta(minutes=5)).issue(
        order_id
    )
    with pytest.raises(InvalidToken):
        VERIFIER.verify(order_token)
    with pytest.raises(InvalidToken):
        OrderTokenVerifier(parse_public_keys(f"a1:{PUBLIC}")).verify(SIGNER.issue("a"), order_id)
