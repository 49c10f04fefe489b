"""Payout IPNs as the NOWPayments sandbox writes and signs them."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bitloot_payments.adapters.payout_ipn import BadPayoutIpn, verified_payout
from bitloot_sandbox_nowpayments.ipn import serialise, sign
from bitloot_sandbox_nowpayments.withdrawal import Withdrawal

SECRET, PREVIOUS = "ipn-secret-current", "ipn-secret-previous"


def signed_ipn(status: str, secret: str = SECRET) -> tuple[bytes, str]:
    withdrawal = Withdrawal(
        id=5000248325,
        batch_id=5000145498,
        address="TEmGwPeRTPiLFLVfBxXkSP91yc5GMNQhfS",
        currency="usdttrc20",
        amount=Decimal("0.000002"),
        extra_id=None,
        ipn_callback_url="https://shop.bitloot.test/payments/payout-ipn",
        unique_external_id="refund-1",
        payout_description=None,
        created_at=datetime.now(UTC),
    )
    withdrawal.move(status, datetime.now(UTC))
    body = serialise(withdrawal.ipn_body())
    return body, sign(body, secret)


@pytest.mark.parametrize("secret", [SECRET, PREVIOUS])
def test_a_signed_payout_ipn_is_read_with_the_current_or_previous_secret(secret: str) -> None:
    body, signature = signed_ipn("finished", secret)

    payout = verified_payout(body, signature, [SECRET, PREVIOUS])

    assert (payout.id, payout.batch_id, payout.status) == ("5000248325", "5000145498", "finished")
    assert payout.amount == Decimal("0.000002")
    assert len(str(payout.hash)) == 64
    assert payout.unique_external_id is None  # the documented IPN does not carry it


def test_a_wrong_signature_is_refused() -> None:
    body, _ = signed_ipn("finished")

    with pytest.raises(BadPayoutIpn) as refused:
        verified_payout(body, sign(body, "someone-else"), [SECRET, PREVIOUS])

    assert refused.value.code == "invalid_signature"


def test_a_tampered_body_is_refused() -> None:
    body, signature = signed_ipn("failed")

    with pytest.raises(BadPayoutIpn) as refused:
        verified_payout(body.replace(b"FAILED", b"FINISHED"), signature, [SECRET])

    assert refused.value.code == "invalid_signature"


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"{not json", "malformed_json"), (b"[1]", "not_an_object"), (b'{"a":1}', "not_a_payout")],
)
def test_an_unusable_body_is_refused_with_a_reason(body: bytes, code: str) -> None:
    with pytest.raises(BadPayoutIpn) as refused:
        verified_payout(body, sign(body, SECRET), [SECRET])

    assert refused.value.code == code
