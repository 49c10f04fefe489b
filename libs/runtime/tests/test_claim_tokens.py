"""Refund claim tokens: delivery signs them into its emails, payments' claim page checks
them with the public key only; an expired one may still ask for a new link, never claim."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from bitloot_runtime.tokens import (
    ClaimGrant,
    ClaimTokenSigner,
    ClaimTokenVerifier,
    InvalidToken,
    OrderTokenSigner,
    generate_key_pair,
    load_private_key,
    parse_public_keys,
)

PRIVATE, PUBLIC = generate_key_pair()
SIGNER = ClaimTokenSigner("c1", load_private_key(PRIVATE), timedelta(days=7))
VERIFIER = ClaimTokenVerifier(parse_public_keys(f"c1:{PUBLIC}"))
ORDER = uuid4()
A_WEEK_AGO = datetime.now(UTC) - timedelta(days=8)


def test_a_claim_token_names_its_refund_and_order() -> None:
    assert VERIFIER.verify(SIGNER.issue(42, ORDER)) == ClaimGrant(42, ORDER)


def test_an_expired_token_cannot_claim_but_may_ask_for_a_new_link() -> None:
    expired = SIGNER.issue(42, ORDER, now=A_WEEK_AGO)
    with pytest.raises(InvalidToken) as refusal:
        VERIFIER.verify(expired)
    assert refusal.value.code == "token_expired"
    assert VERIFIER.verify(expired, allow_expired=True) == ClaimGrant(42, ORDER)


@pytest.mark.parametrize(
    "token",
    [
        # Signed by someone else's key under the same key id.
        ClaimTokenSigner("c1", load_private_key(generate_key_pair()[0]), timedelta(days=1)).issue(
            1, ORDER
        ),
        # An order token is not a claim token, even from a trusted key.
        OrderTokenSigner("c1", load_private_key(PRIVATE), timedelta(days=1)).issue(ORDER),
        "not-a-jwt",
    ],
    ids=["forged", "order token", "garbage"],
)
def test_anything_else_is_refused_even_when_expiry_is_allowed(token: str) -> None:
    with pytest.raises(InvalidToken) as refusal:
        VERIFIER.verify(token, allow_expired=True)
    assert refusal.value.code == "token_invalid"


def test_a_missing_token_is_named() -> None:
    with pytest.raises(InvalidToken) as refusal:
        VERIFIER.verify(None)
    assert refusal.value.code == "token_missing"
