"""Payout IPNs: NOWPayments signs them as it signs payment IPNs (``x-nowpayments-sig``,
HMAC-SHA512 with the IPN secret over the key-sorted body; `ipn_signature`), and their
body is the withdrawal object (documented example: ``id``, ``batch_withdrawal_id``,
``status`` in capitals, ``hash``, ``error``, ``amount`` as a string, no
``unique_external_id``)."""

from collections.abc import Iterable

from bitloot_payments.adapters import ipn_signature
from bitloot_payments.adapters.ipn_signature import InvalidIpnBody
from bitloot_payments.adapters.payouts import Payout, PayoutRefused
from bitloot_payments.domain import Coded


class BadPayoutIpn(Coded, ValueError):
    """A payout IPN to refuse unchanged; `code` is the machine-readable reason
    (``invalid_signature``, ``not_a_payout`` or one of `InvalidIpnBody`'s)."""


def verified_payout(body: bytes, signature: str | None, secrets: Iterable[str]) -> Payout:
    """The payout a signed IPN reports; `BadPayoutIpn` if the body is unusable or the
    signature is not NOWPayments' under one of `secrets` (current and previous)."""
    try:
        document = ipn_signature.parse(body)
    except InvalidIpnBody as exc:
        raise BadPayoutIpn(exc.code, str(exc)) from None
    if not ipn_signature.verify(document, signature, secrets, body):
        raise BadPayoutIpn("invalid_signature", "x-nowpayments-sig does not match the body.")
    try:
        return Payout.from_json(document)
    except PayoutRefused as exc:
        raise BadPayoutIpn("not_a_payout", str(exc)) from None
