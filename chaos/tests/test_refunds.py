"""The refunding customers' side of the chaos run: the addresses they claim with pass
payments' checks for every currency the NOWPayments sandbox takes, and the claim link is
read out of the email delivery writes."""

from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest

from bitloot_delivery.domain.links import ClaimLinks
from bitloot_payments.domain.payout_address import AddressRefused, check_payout
from bitloot_runtime.tokens import ClaimTokenSigner, generate_key_pair, load_private_key
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_sandbox_nowpayments.store import RATES
from chaos.load import is_refund_order
from chaos.refunds import CLAIM_LINK, PAYOUT_ADDRESSES


@pytest.mark.parametrize("currency", sorted(RATES))
def test_each_currency_the_sandbox_takes_has_an_address_payments_accepts(currency: str) -> None:
    address = PAYOUT_ADDRESSES[currency]
    assert check_payout(currency, address, None) == (address, None)


def test_the_sandbox_auto_pays_in_a_currency_with_an_address() -> None:
    assert NowPaymentsSandboxConfig().default_pay_currency in PAYOUT_ADDRESSES


def test_a_typo_in_a_kept_address_would_be_refused() -> None:
    """The table's addresses are checked, not merely bounded: one changed character fails."""
    tron = PAYOUT_ADDRESSES["usdttrc20"]
    with pytest.raises(AddressRefused):
        check_payout("usdttrc20", tron[:-1] + ("u" if tron[-1] != "u" else "v"), None)


def test_the_claim_link_is_found_in_the_email_and_gives_back_the_token() -> None:
    private, _public = generate_key_pair()
    signer = ClaimTokenSigner("c1", load_private_key(private), timedelta(days=7))
    link = ClaimLinks(signer, "http://127.0.0.1:8001/refunds/claim").url(7, uuid4())
    message = EmailMessage()
    message.set_content(f"Claim your refund here:\n{link}\n\nThe BitLoot team")
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = CLAIM_LINK.search(body.get_content())
    assert found is not None
    assert found.group(0) == link
    token = parse_qs(urlsplit(found.group(0)).query)["token"][0]
    assert token.count(".") == 2  # the whole signed token, not a prefix of it


def test_one_order_in_25_is_a_refund_order() -> None:
    assert sum(is_refund_order(n) for n in range(600)) == 24
    assert not is_refund_order(0)
