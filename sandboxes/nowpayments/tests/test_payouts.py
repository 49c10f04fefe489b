import asyncio

import pytest
from nowpayments_harness import (
    ADDRESS,
    Sandbox,
    bearer,
    create_payout,
    paid_out,
    received,
    verify,
)


def statuses(sandbox: Sandbox) -> list[object]:
    return [body["status"] for body in received(sandbox)]


async def test_a_verified_payout_runs_to_finished_with_a_hash_and_one_ipn_per_status(
    sandbox: Sandbox,
) -> None:
    withdrawal = await paid_out(sandbox, unique_external_id="refund-1")

    assert withdrawal["status"] == "FINISHED"
    assert len(withdrawal["hash"]) == 64
    assert withdrawal["unique_external_id"] == "refund-1"
    assert statuses(sandbox) == ["CREATING", "WAITING", "PROCESSING", "SENDING", "FINISHED"]
    assert {body["id"] for body in received(sandbox)} == {withdrawal["id"]}


async def test_an_unverified_payout_stays_creating(sandbox: Sandbox) -> None:
    created = (await create_payout(sandbox)).json()
    await asyncio.sleep(0.1)

    status = await sandbox.client.get(f"/v1/payout/{created['id']}")

    assert [w["status"] for w in status.json()] == ["CREATING"]


async def test_a_wrong_2fa_code_is_refused_and_ten_attempts_are_the_most(
    sandbox: Sandbox,
) -> None:
    created = (await create_payout(sandbox)).json()

    wrong = [await verify(sandbox, created["id"], "000000") for _ in range(10)]
    last = await verify(sandbox, created["id"])

    assert {answer.json()["code"] for answer in wrong} == {"INVALID_VERIFICATION_CODE"}
    assert last.status_code == 400
    assert last.json()["code"] == "VERIFICATION_ATTEMPTS_EXCEEDED"


async def test_verifying_twice_answers_ok_and_pays_once(sandbox: Sandbox) -> None:
    withdrawal = await paid_out(sandbox)

    again = await verify(sandbox, withdrawal["batch_withdrawal_id"])
    await sandbox.state.idle()

    assert (again.status_code, again.text) == (200, "OK")
    assert statuses(sandbox).count("FINISHED") == 1


async def test_create_needs_a_bearer_token(sandbox: Sandbox) -> None:
    body = {"withdrawals": [{"address": ADDRESS, "currency": "trx", "amount": 1}]}

    answer = await sandbox.client.post("/v1/payout", json=body)

    assert answer.status_code == 401
    assert answer.json()["code"] == "AUTH_REQUIRED"
    assert (await sandbox.client.get("/sandbox/payouts")).json() == []


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"address": "not an address"}, "BAD_CREATE_WITHDRAWAL_REQUEST", "Invalid payout_address"),
        ({"currency": "doge"}, "INVALID_REQUEST_PARAMS", '"currency" must be one of'),
        ({"amount": 0}, "INVALID_REQUEST_PARAMS", '"price_amount" must be a positive'),
        ({"amount": "5"}, "INVALID_REQUEST_PARAMS", "must be a number"),
        ({"amount": 1.1234567}, "INVALID_REQUEST_PARAMS", "no more than 6 decimal places"),
        ({"ipn_callback_url": "ftp://x"}, "INVALID_REQUEST_PARAMS", "http or https"),
    ],
)
async def test_a_bad_withdrawal_is_refused_and_records_nothing(
    sandbox: Sandbox, fields: dict[str, object], code: str, message: str
) -> None:
    answer = await create_payout(sandbox, **fields)

    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert message in answer.json()["message"]
    assert (await sandbox.client.get("/sandbox/payouts")).json() == []


async def test_a_payout_larger_than_the_balance_is_refused(sandbox: Sandbox) -> None:
    answer = await create_payout(sandbox, amount=1000.5)

    assert answer.status_code == 400
    assert answer.json()["code"] == "BAD_CREATE_WITHDRAWAL_REQUEST"
    assert answer.json()["message"] == "Insufficient balance"
    assert answer.json()["current_values"] == {
        "usdttrc20": {"requested": 1000.5, "actualBalance": 1000}
    }


async def test_payouts_draw_from_the_balance_and_a_failed_one_gives_it_back(
    sandbox: Sandbox,
) -> None:
    await sandbox.client.post("/sandbox/payouts/next", json={"fate": "failed"})
    pending = (await create_payout(sandbox, amount=300)).json()
    during = (await sandbox.client.get("/v1/balance")).json()["usdttrc20"]

    assert (await verify(sandbox, pending["id"])).status_code == 200
    await sandbox.state.idle()
    after_failure = (await sandbox.client.get("/v1/balance")).json()["usdttrc20"]
    await paid_out(sandbox, amount=200)
    after_payout = (await sandbox.client.get("/v1/balance")).json()["usdttrc20"]

    assert during == {"amount": 700, "pendingAmount": 300}
    assert after_failure == {"amount": 1000, "pendingAmount": 0}
    assert after_payout == {"amount": 800, "pendingAmount": 0}


@pytest.mark.parametrize(
    ("fate", "expected", "error"),
    [
        ("failed", ["CREATING", "WAITING", "PROCESSING", "FAILED"], "network refused"),
        ("rejected", ["CREATING", "WAITING", "REJECTED"], "compliance"),
        ("stall", ["CREATING", "WAITING", "PROCESSING"], None),
    ],
)
async def test_the_next_payouts_fate_is_set_by_the_controls(
    sandbox: Sandbox, fate: str, expected: list[str], error: str | None
) -> None:
    await sandbox.client.post("/sandbox/payouts/next", json={"fate": fate})

    withdrawal = await paid_out(sandbox)

    assert statuses(sandbox) == expected
    assert withdrawal["status"] == expected[-1]
    assert (error is None and withdrawal["error"] is None) or error in withdrawal["error"]
    assert (await sandbox.client.get("/sandbox/payouts/next")).json() == {"fates": []}


async def test_a_stalled_payout_moves_when_told_and_sends_its_ipn(sandbox: Sandbox) -> None:
    await sandbox.client.post("/sandbox/payouts/next", json={"fate": "stall"})
    withdrawal = await paid_out(sandbox)

    moved = await sandbox.client.post(
        f"/sandbox/payouts/{withdrawal['id']}/status", json={"status": "finished"}
    )
    await sandbox.state.idle()

    assert moved.json()["status"] == "FINISHED"
    assert moved.json()["hash"]
    assert statuses(sandbox)[-1] == "FINISHED"


async def test_a_reused_unique_external_id_creates_a_second_payout(sandbox: Sandbox) -> None:
    first = await create_payout(sandbox, unique_external_id="refund-7")
    second = await create_payout(sandbox, unique_external_id="refund-7")

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["id"] != second.json()["id"]


async def test_the_list_filters_orders_and_pages(sandbox: Sandbox) -> None:
    first = (await create_payout(sandbox, unique_external_id="a")).json()
    await paid_out(sandbox, unique_external_id="b")
    third = (await create_payout(sandbox, unique_external_id="c")).json()

    newest = await sandbox.client.get(
        "/v1/payout", params={"order_by": "dateCreated", "order": "desc", "limit": "2"}
    )
    older = await sandbox.client.get(
        "/v1/payout", params={"order_by": "dateCreated", "order": "desc", "limit": "2", "page": "1"}
    )
    finished = await sandbox.client.get("/v1/payout", params={"status": "finished"})
    by_batch = await sandbox.client.get("/v1/payout", params={"batch_id": third["id"]})

    def external(answer: object) -> list[object]:
        return [w["unique_external_id"] for w in answer.json()["payouts"]]  # type: ignore[attr-defined]

    assert external(newest) == ["c", "b"]
    assert external(older) == ["a"]
    assert external(finished) == ["b"]
    assert external(by_batch) == ["c"]
    assert first["id"] != third["id"]


async def test_the_list_refuses_an_unknown_filter(sandbox: Sandbox) -> None:
    answer = await sandbox.client.get("/v1/payout", params={"unique_external_id": "a"})

    assert answer.status_code == 400
    assert answer.json()["message"] == '"unique_external_id" is not allowed'


async def test_an_unknown_payout_is_404(sandbox: Sandbox) -> None:
    answer = await sandbox.client.get("/v1/payout/123")
    verified = await verify(sandbox, "123")

    assert (answer.status_code, answer.json()["code"]) == (404, "PAYOUT_NOT_FOUND")
    assert verified.status_code == 404


async def test_duplicated_and_reordered_payout_ipns(sandbox: Sandbox) -> None:
    faults = {"duplicate_callbacks": 1, "reorder_callbacks": True}
    await sandbox.client.post("/sandbox/faults", json=faults)

    await paid_out(sandbox)

    assert statuses(sandbox) == [
        "CREATING", "CREATING", "FINISHED", "FINISHED", "SENDING", "SENDING",
        "PROCESSING", "PROCESSING", "WAITING", "WAITING",
    ]  # fmt: skip


async def test_dropped_payout_ipns_are_in_the_ledger_only(sandbox: Sandbox) -> None:
    await sandbox.client.post("/sandbox/faults", json={"drop_all_ipns": True})

    withdrawal = await paid_out(sandbox)

    ledger = (await sandbox.client.get("/sandbox/payouts")).json()
    ipns = ledger[0]["withdrawals"][0]["ipns"]
    assert received(sandbox) == []
    assert [i["dropped"] for i in ipns] == [True] * 5
    assert withdrawal["status"] == "FINISHED"


async def test_a_held_answer_still_creates_the_payout(sandbox: Sandbox) -> None:
    headers = await bearer(sandbox)
    await sandbox.client.post("/sandbox/faults", json={"hold_payouts": 1, "hold_ms": 2000})
    body = {"withdrawals": [{"address": ADDRESS, "currency": "trx", "amount": 1}]}

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await sandbox.client.post("/v1/payout", json=body, headers=headers)

    listed = (await sandbox.client.get("/v1/payout")).json()["payouts"]
    assert [w["amount"] for w in listed] == ["1"]


async def test_the_balance_control_sets_what_is_available(sandbox: Sandbox) -> None:
    answer = await sandbox.client.post(
        "/sandbox/payouts/balance", json={"currency": "trx", "amount": 5}
    )
    refused = await sandbox.client.post(
        "/sandbox/payouts/balance", json={"currency": "trx", "amount": -1}
    )

    assert answer.json()["trx"] == {"amount": 5, "pendingAmount": 0}
    assert refused.status_code == 400
    assert (await create_payout(sandbox, currency="trx", amount=6)).status_code == 400
