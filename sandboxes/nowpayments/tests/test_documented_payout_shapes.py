"""Every payout answer and payout IPN of the sandbox has exactly the fields NOWPayments
documents, of the documented JSON types (transcribed in nowpayments_docs)."""

from nowpayments_docs import (
    AUTH_ANSWER,
    BALANCE_ENTRY,
    CREATE_ANSWER,
    ERROR,
    LIST_ANSWER,
    LIST_ORDER_BY,
    LIST_PARAMETERS,
    PAYOUT_IPN,
    PAYOUT_STATUSES,
    WITHDRAWAL,
)
from nowpayments_harness import EMAIL, PASSWORD, Sandbox, create_payout, paid_out, received

from bitloot_sandbox_common.documented import mismatches
from bitloot_sandbox_nowpayments.payout_api import LIST_PARAMS, ORDER_BY


async def test_create_answers_the_documented_batch_in_capitals(sandbox: Sandbox) -> None:
    answer = await create_payout(sandbox, extra_id="memo", unique_external_id="refund-1")

    assert answer.status_code == 200
    assert mismatches(answer.json(), CREATE_ANSWER) == []
    [withdrawal] = answer.json()["withdrawals"]
    assert withdrawal["status"] == "CREATING"
    assert withdrawal["batch_withdrawal_id"] == answer.json()["id"]


async def test_status_and_list_answer_the_withdrawal_object(sandbox: Sandbox) -> None:
    withdrawal = await paid_out(sandbox)

    listed = (await sandbox.client.get("/v1/payout")).json()

    assert mismatches(withdrawal, WITHDRAWAL) == []
    assert mismatches(listed, LIST_ANSWER) == []


async def test_payout_ipns_have_the_documented_fields_and_statuses(sandbox: Sandbox) -> None:
    await paid_out(sandbox)

    bodies = received(sandbox)

    assert bodies
    assert [mismatches(body, PAYOUT_IPN) for body in bodies] == [[] for _ in bodies]
    assert {str(body["status"]).lower() for body in bodies} <= PAYOUT_STATUSES


async def test_balance_auth_and_errors_are_documented_shapes(sandbox: Sandbox) -> None:
    auth = await sandbox.client.post("/v1/auth", json={"email": EMAIL, "password": PASSWORD})
    balance = (await sandbox.client.get("/v1/balance")).json()
    refused = await create_payout(sandbox, address="0g033BbF609Ed876576735a02fa181842319Dd8b8F!")

    assert mismatches(auth.json(), AUTH_ANSWER) == []
    assert [mismatches(entry, BALANCE_ENTRY) for entry in balance.values()] == [[] for _ in balance]
    assert mismatches(refused.json(), ERROR) == []
    assert refused.json()["code"] == "BAD_CREATE_WITHDRAWAL_REQUEST"


def test_the_sandbox_knows_exactly_the_documented_list_parameters() -> None:
    assert LIST_PARAMS == LIST_PARAMETERS
    assert set(ORDER_BY) == LIST_ORDER_BY
