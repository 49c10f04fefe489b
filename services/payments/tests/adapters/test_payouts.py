"""The payouts client against the NOWPayments sandbox served for real on a port: tokens,
2FA verification, refusals told apart from unknown outcomes, and finding a payout by our
id."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from payouts_support import PASSWORD, TWO_FA, payouts_client, sandbox_config

from bitloot_payments.adapters.nowpayments import RetryPolicy
from bitloot_payments.adapters.payouts import (
    NowPaymentsPayouts,
    PayoutRefused,
    PayoutRequest,
    PayoutUncertain,
)
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox
from bitloot_sandbox_nowpayments.server import running_app
from bitloot_sandbox_nowpayments.tokens import Tokens

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
REQUEST = PayoutRequest(
    unique_external_id="refund-5d1c",
    address="TEmGwPeRTPiLFLVfBxXkSP91yc5GMNQhfS",
    extra_id=None,
    currency="usdttrc20",
    amount=Decimal("12.500000"),
    ipn_callback_url=None,
)
Served = tuple[str, NowPaymentsSandbox]


@pytest.fixture
async def sandbox() -> AsyncIterator[Served]:
    async with running_app(sandbox_config(port=0, payout_balance=100.0)) as (base_url, app):
        yield base_url, app.state.sandbox


def payouts_on(
    sandbox: Served,
    http: httpx.AsyncClient,
    *,
    two_fa: str | None = TWO_FA,
    password: str = PASSWORD,
    timeout: float = 5.0,
) -> NowPaymentsPayouts:
    clients = payouts_client(
        http, sandbox[0], timeout, two_fa=two_fa, password=password, retry=FAST
    )
    return clients[1]


async def test_a_payout_is_created_with_our_id_and_verified(
    sandbox: Served, http: httpx.AsyncClient
) -> None:
    payout = await payouts_on(sandbox, http).create(REQUEST)

    [batch] = sandbox[1].payouts.batches.values()
    [withdrawal] = batch.withdrawals
    assert batch.verified
    assert (payout.id, payout.batch_id) == (str(withdrawal.id), str(batch.id))
    assert payout.unique_external_id == "refund-5d1c"
    assert (payout.amount, payout.currency) == (Decimal("12.5"), "usdttrc20")
    assert payout.status in {"waiting", "processing", "sending", "finished"}
    await sandbox[1].idle()
    finished = await payouts_on(sandbox, http).get(str(batch.id))
    assert finished.status == "finished"
    assert finished.hash == withdrawal.hash


async def test_without_the_2fa_secret_the_payout_waits_in_creating(
    sandbox: Served, http: httpx.AsyncClient
) -> None:
    payout = await payouts_on(sandbox, http, two_fa=None).create(REQUEST)

    assert payout.status == "creating"
    assert not sandbox[1].payouts.batches[int(str(payout.batch_id))].verified


async def test_a_payout_still_creating_is_verified_later(
    sandbox: Served, http: httpx.AsyncClient
) -> None:
    created = await payouts_on(sandbox, http, two_fa=None).create(REQUEST)

    verified = await payouts_on(sandbox, http).verify(created)

    assert verified.status != "creating"
    assert sandbox[1].payouts.batches[int(str(created.batch_id))].verified


async def test_a_short_balance_is_a_refusal_with_nowpayments_reason(
    sandbox: Served, http: httpx.AsyncClient
) -> None:
    with pytest.raises(PayoutRefused) as refused:
        await payouts_on(sandbox, http).create(replace(REQUEST, amount=Decimal("100.5")))

    assert (refused.value.code, str(refused.value)) == (
        "BAD_CREATE_WITHDRAWAL_REQUEST",
        "Insufficient balance",
    )
    assert sandbox[1].payouts.batches == {}


async def test_a_bad_address_is_a_refusal(sandbox: Served, http: httpx.AsyncClient) -> None:
    with pytest.raises(PayoutRefused) as refused:
        await payouts_on(sandbox, http).create(replace(REQUEST, address="nope"))

    assert refused.value.code == "BAD_CREATE_WITHDRAWAL_REQUEST"
    assert refused.value.status == 400


async def test_wrong_credentials_are_a_refusal(sandbox: Served, http: httpx.AsyncClient) -> None:
    with pytest.raises(PayoutRefused) as refused:
        await payouts_on(sandbox, http, password="wrong").create(REQUEST)

    assert refused.value.status == 401
    assert sandbox[1].payouts.batches == {}


async def test_a_refused_token_is_renewed_and_the_payout_created_once(
    sandbox: Served, http: httpx.AsyncClient
) -> None:
    payouts = payouts_on(sandbox, http)
    await payouts.create(REQUEST)
    sandbox[1].tokens = Tokens(300)  # a new signing key: the cached token is refused

    await payouts.create(replace(REQUEST, unique_external_id="refund-2"))

    assert len(sandbox[1].payouts.withdrawals) == 2


async def test_a_rate_limited_create_is_asked_again(
    sandbox: Served, http: httpx.AsyncClient
) -> None:
    payouts = payouts_on(sandbox, http)
    await payouts.create(replace(REQUEST, unique_external_id="refund-warm-up"))
    sandbox[1].faults.rate_limit_next = 1

    await payouts.create(REQUEST)

    assert len(sandbox[1].payouts.withdrawals) == 2


async def test_a_5xx_on_create_is_uncertain_and_not_retried(
    sandbox: Served, http: httpx.AsyncClient
) -> None:
    payouts = payouts_on(sandbox, http)
    await payouts.create(replace(REQUEST, unique_external_id="refund-warm-up"))
    sandbox[1].faults.fail_next = 1

    with pytest.raises(PayoutUncertain):
        await payouts.create(REQUEST)

    assert sandbox[1].faults.fail_next == 0
    assert len(sandbox[1].payouts.batches) == 1


async def test_a_held_answer_is_uncertain_and_find_then_sees_the_payout(
    sandbox: Served, http: httpx.AsyncClient
) -> None:
    started = datetime.now(UTC)
    payouts = payouts_on(sandbox, http, timeout=0.3)
    await payouts.create(replace(REQUEST, unique_external_id="refund-warm-up"))
    sandbox[1].faults.hold_payouts, sandbox[1].faults.hold_ms = 1, 1500

    with pytest.raises(PayoutUncertain):
        await payouts.create(REQUEST)
    found = await payouts.find("refund-5d1c", created_after=started)

    withdrawal = list(sandbox[1].payouts.withdrawals.values())[-1]
    assert found is not None
    assert found.id == str(withdrawal.id)
    assert found.status == "creating"
    await asyncio.sleep(1.3)  # the held answer goes out before the sandbox stops


async def test_find_knows_only_our_id_and_prefers_a_live_payout(
    sandbox: Served, http: httpx.AsyncClient
) -> None:
    payouts = payouts_on(sandbox, http)
    sandbox[1].payouts.fates.append("rejected")
    rejected = await payouts.create(replace(REQUEST, amount=Decimal(1)))
    await sandbox[1].idle()
    live = await payouts.create(replace(REQUEST, amount=Decimal(2)))
    await payouts.create(replace(REQUEST, unique_external_id="refund-other"))

    found = await payouts.find("refund-5d1c")

    assert found is not None
    assert found.id == live.id != rejected.id
    assert await payouts.find("refund-none") is None


async def test_an_amount_with_more_than_six_decimals_is_never_sent(
    sandbox: Served, http: httpx.AsyncClient
) -> None:
    with pytest.raises(ValueError, match="more than 6 decimals"):
        await payouts_on(sandbox, http).create(replace(REQUEST, amount=Decimal("1.0000001")))

    assert sandbox[1].payouts.batches == {}
