"""The payout runner against the NOWPayments sandbox, on the real database: one payout per
refund whatever NOWPayments answers, each refund status emitted once."""

import asyncio
import json

import httpx
import pytest
from payments_support import new_order
from payouts_support import (
    approve_again,
    approved_refund,
    ipn_results,
    ledger_of,
    paying,
    payout_rows,
    refund_events,
    refund_row,
)

from bitloot_runtime.service import ServiceRuntime
from bitloot_sandbox_nowpayments.ipn import serialise, sign


def statuses(events: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(e["previous_status"], e["status"]) for e in events]


async def test_an_approved_refund_is_paid_once_and_sent_with_its_transaction(
    runtime: ServiceRuntime, client: httpx.AsyncClient, transport: httpx.ASGITransport
) -> None:
    refund_id = await approved_refund(runtime, await new_order(client))
    async with paying(runtime, transport) as world:
        await world.settle()

        [withdrawal] = world.sandbox.payouts.withdrawals.values()
    refund = await refund_row(runtime, refund_id)
    [payout] = await payout_rows(runtime, refund_id)
    events = await refund_events(runtime, refund_id)
    assert withdrawal.unique_external_id == f"refund-{refund_id}"
    assert (withdrawal.address, withdrawal.amount) == (payout["address"], payout["amount"])
    assert (payout["status"], payout["provider_payout_id"]) == ("finished", str(withdrawal.id))
    assert (refund["status"], refund["transaction_id"]) == ("sent", withdrawal.hash)
    assert statuses(events) == [("approved", "sending"), ("sending", "sent")]
    assert events[-1]["transaction_id"] == withdrawal.hash
    assert events[-1]["customer_email"] == "buyer@example.com"


async def test_a_refused_payout_fails_the_refund_and_a_reapproval_pays_a_new_attempt(
    runtime: ServiceRuntime, client: httpx.AsyncClient, transport: httpx.ASGITransport
) -> None:
    refund_id = await approved_refund(runtime, await new_order(client), amount="20000")
    async with paying(runtime, transport) as world:
        await world.runner()
        failed = await refund_row(runtime, refund_id)
        world.sandbox.payouts.funds["usdttrc20"] += 20000
        await approve_again(runtime, refund_id)
        await world.settle()

        ledger = ledger_of(world.sandbox, refund_id)
    rows = await payout_rows(runtime, refund_id)
    assert failed["status"] == "failed"
    assert failed["error"] == "BAD_CREATE_WITHDRAWAL_REQUEST: Insufficient balance"
    assert [(r["unique_external_id"], r["status"]) for r in rows] == [
        (f"refund-{refund_id}", "refused"),
        (f"refund-{refund_id}-2", "finished"),
    ]
    assert ledger == [f"refund-{refund_id}-2"]
    assert (await refund_row(runtime, refund_id))["status"] == "sent"
    events = await refund_events(runtime, refund_id)
    assert statuses(events) == [
        ("approved", "sending"),
        ("sending", "failed"),
        ("approved", "sending"),
        ("sending", "sent"),
    ]
    assert events[1]["note"] == "BAD_CREATE_WITHDRAWAL_REQUEST: Insufficient balance"


@pytest.mark.parametrize("fate", ["failed", "rejected"])
async def test_a_failed_or_rejected_payout_fails_the_refund_with_nowpayments_error(
    runtime: ServiceRuntime, client: httpx.AsyncClient, transport: httpx.ASGITransport, fate: str
) -> None:
    refund_id = await approved_refund(runtime, await new_order(client))
    async with paying(runtime, transport) as world:
        world.sandbox.payouts.fates.append(fate)
        await world.settle()
        [withdrawal] = world.sandbox.payouts.withdrawals.values()

    refund = await refund_row(runtime, refund_id)
    assert (refund["status"], refund["error"]) == ("failed", withdrawal.error)
    [_, failed] = await refund_events(runtime, refund_id)
    assert (failed["status"], failed["note"]) == ("failed", withdrawal.error)


async def test_an_unanswered_create_is_looked_up_and_adopted_not_asked_again(
    runtime: ServiceRuntime, client: httpx.AsyncClient, transport: httpx.ASGITransport
) -> None:
    refund_id = await approved_refund(runtime, await new_order(client))
    async with paying(runtime, transport, timeout=0.5, lookup_after=1.5) as world:
        await world.nowpayments.token(refresh=True)
        world.sandbox.faults.update({"hold_payouts": 1, "hold_ms": 1500})
        await world.runner()
        waiting = await payout_rows(runtime, refund_id)
        await asyncio.sleep(1.6)  # the held answer is gone out; lookup_after has passed
        await world.settle()

        ledger = ledger_of(world.sandbox, refund_id)
    assert [r["status"] for r in waiting] == ["requesting"]
    assert ledger == [f"refund-{refund_id}"]
    assert (await refund_row(runtime, refund_id))["status"] == "sent"
    assert [r["status"] for r in await payout_rows(runtime, refund_id)] == ["finished"]


async def test_a_payout_nowpayments_never_got_is_asked_again_with_the_same_id(
    runtime: ServiceRuntime, client: httpx.AsyncClient, transport: httpx.ASGITransport
) -> None:
    refund_id = await approved_refund(runtime, await new_order(client))
    async with paying(runtime, transport, lookup_after=1.0) as world:
        await world.nowpayments.token(refresh=True)
        world.sandbox.faults.update({"fail_next": 1})
        await world.runner()
        unanswered = await payout_rows(runtime, refund_id)
        await asyncio.sleep(1.1)
        await world.settle()

        ledger = ledger_of(world.sandbox, refund_id)
    assert [r["status"] for r in unanswered] == ["requesting"]
    assert ledger == [f"refund-{refund_id}"]
    assert (await refund_row(runtime, refund_id))["status"] == "sent"


async def test_lost_payout_ipns_are_made_up_for_by_polling(
    runtime: ServiceRuntime, client: httpx.AsyncClient, transport: httpx.ASGITransport
) -> None:
    refund_id = await approved_refund(runtime, await new_order(client))
    async with paying(runtime, transport, poll_after=1.0) as world:
        world.sandbox.faults.update({"drop_all_ipns": True})
        world.sandbox.payouts.fates.append("stall")
        await world.runner()
        await world.sandbox.idle()
        [withdrawal] = world.sandbox.payouts.withdrawals.values()
        world.sandbox.payouts.move(withdrawal, "finished", None)  # its IPN is lost too
        await world.runner()
        sending = await refund_row(runtime, refund_id)
        await asyncio.sleep(1.1)
        await world.runner()

    assert sending["status"] == "sending"
    assert await ipn_results(runtime) == []
    refund = await refund_row(runtime, refund_id)
    assert (refund["status"], refund["transaction_id"]) == ("sent", withdrawal.hash)


async def test_duplicated_and_reordered_payout_ipns_settle_the_refund_once(
    runtime: ServiceRuntime, client: httpx.AsyncClient, transport: httpx.ASGITransport
) -> None:
    refund_id = await approved_refund(runtime, await new_order(client))
    async with paying(runtime, transport) as world:
        world.sandbox.faults.update({"duplicate_callbacks": 2, "reorder_callbacks": True})
        await world.settle()

    results = await ipn_results(runtime)
    assert (await refund_row(runtime, refund_id))["status"] == "sent"
    assert statuses(await refund_events(runtime, refund_id)) == [
        ("approved", "sending"),
        ("sending", "sent"),
    ]
    # Each distinct IPN stored once; after FINISHED the older ones are stale.
    assert len(results) == 5
    assert [r for _, r in results].count("applied") <= 2
    assert {r for _, r in results} <= {"applied", "stale"}


async def test_a_payout_ipn_with_a_forged_signature_changes_nothing_and_is_logged(
    runtime: ServiceRuntime, client: httpx.AsyncClient, transport: httpx.ASGITransport
) -> None:
    refund_id = await approved_refund(runtime, await new_order(client))
    async with paying(runtime, transport) as world:
        world.sandbox.faults.update({"drop_all_ipns": True})
        world.sandbox.payouts.fates.append("stall")
        await world.runner()
        [withdrawal] = world.sandbox.payouts.withdrawals.values()
        withdrawal.move("finished", withdrawal.created_at)
        body = serialise(withdrawal.ipn_body())

        forged = await client.post(
            "/payments/payout-ipn",
            content=body,
            headers={"x-nowpayments-sig": sign(body, "not-the-secret")},
        )
        unsigned = await client.post("/payments/payout-ipn", content=body)
        await world.runner()

    assert (forged.status_code, forged.json()["error"]) == (401, "invalid_signature")
    assert unsigned.status_code == 401
    assert await ipn_results(runtime) == [
        (False, "invalid_signature"),
        (False, "invalid_signature"),
    ]
    assert (await refund_row(runtime, refund_id))["status"] == "sending"


async def test_an_unreadable_payout_ipn_is_refused_with_a_reason(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post("/payments/payout-ipn", content=b"{not json")

    assert answer.status_code == 400
    assert json.loads(answer.content)["error"] == "malformed_json"
