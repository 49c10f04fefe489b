from datetime import UTC, datetime, timedelta

import pytest
from nowpayments_harness import (
    STATUS_FIELDS,
    Sandbox,
    ids,
    listed,
    paid_invoice,
    serving,
    token,
)

from bitloot_sandbox_common.receiver import Receiver


async def test_list_without_a_bearer_token_is_refused_as_documented(sandbox: Sandbox) -> None:
    answer = await sandbox.client.get("/v1/payment/")

    assert answer.status_code == 401
    assert answer.json() == {
        "status": False,
        "statusCode": 401,
        "code": "AUTH_REQUIRED",
        "message": "Authorization header is empty (Bearer JWTtoken is required)",
    }


async def test_list_needs_the_api_key_besides_the_token(sandbox: Sandbox) -> None:
    bearer = f"Bearer {await token(sandbox)}"

    answer = await sandbox.client.get(
        "/v1/payment/", headers={"authorization": bearer, "x-api-key": "wrong"}
    )

    assert answer.status_code == 403
    assert answer.json()["code"] == "INVALID_API_KEY"


@pytest.mark.parametrize("authorization", ["Bearer not.a.jwt", "Basic abc", "Bearer"])
async def test_list_with_an_invalid_token_is_refused(sandbox: Sandbox, authorization: str) -> None:
    answer = await sandbox.client.get("/v1/payment/", headers={"authorization": authorization})

    assert answer.status_code == 401
    assert answer.json()["statusCode"] == 401
    assert answer.json()["status"] is False


async def test_list_with_an_expired_token_is_refused(receiver: Receiver) -> None:
    async with serving(receiver, token_ttl=0) as sandbox:
        expired = f"Bearer {await token(sandbox)}"

        answer = await sandbox.client.get("/v1/payment/", headers={"authorization": expired})

    assert answer.status_code == 401
    assert answer.json()["code"] == "TOKEN_EXPIRED"


async def test_list_answers_the_documented_page_of_payments(sandbox: Sandbox) -> None:
    paid = await paid_invoice(sandbox)

    page = await listed(sandbox)

    assert set(page) == {"data", "limit", "page", "pagesCount", "total"}
    assert (page["limit"], page["page"], page["pagesCount"], page["total"]) == (10, 0, 1, 1)
    data = page["data"]
    assert isinstance(data, list)
    [item] = data
    assert set(item) == STATUS_FIELDS
    assert (item["payment_id"], item["payment_status"]) == (paid["payment_id"], "finished")


async def test_list_pages_through_every_payment(sandbox: Sandbox) -> None:
    made = [(await paid_invoice(sandbox, outcome="expired"))["payment_id"] for _ in range(5)]

    pages = [await listed(sandbox, limit=2, page=n) for n in range(4)]

    assert [ids(p) for p in pages] == [made[0:2], made[2:4], made[4:5], []]
    assert {(p["pagesCount"], p["total"]) for p in pages} == {(3, 5)}


async def test_list_sorts_by_a_documented_field_in_either_order(sandbox: Sandbox) -> None:
    made = [(await paid_invoice(sandbox, outcome="expired"))["payment_id"] for _ in range(3)]

    newest_first = await listed(sandbox, sortBy="payment_id", orderBy="desc")
    oldest_first = await listed(sandbox, orderBy="asc")

    assert ids(newest_first) == made[::-1]
    assert ids(oldest_first) == made


async def test_list_filters_by_invoice_and_by_creation_date(sandbox: Sandbox) -> None:
    first = await paid_invoice(sandbox, outcome="expired")
    await paid_invoice(sandbox, outcome="expired")
    today = datetime.now(UTC).date()
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    by_invoice = await listed(sandbox, invoiceId=first["invoice_id"])
    today_only = await listed(sandbox, dateFrom=today.isoformat(), dateTo=today.isoformat())
    tomorrow = await listed(sandbox, dateFrom=(today + timedelta(days=1)).isoformat())
    until_an_hour_ago = await listed(sandbox, dateTo=an_hour_ago)

    assert ids(by_invoice) == [first["payment_id"]]
    assert today_only["total"] == 2
    assert tomorrow["total"] == until_an_hour_ago["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": "ten"},
        {"page": -1},
        {"sortBy": "updated_at"},
        {"orderBy": "up"},
        {"dateFrom": "2024-13-01"},
        {"dateTo": "yesterday"},
        {"invoiceId": "abc"},
        {"invoice_id": 1},
    ],
)
async def test_list_with_an_invalid_parameter_is_an_invalid_request(
    sandbox: Sandbox, params: dict[str, object]
) -> None:
    bearer = {"authorization": f"Bearer {await token(sandbox)}"}
    query = {name: str(value) for name, value in params.items()}

    answer = await sandbox.client.get("/v1/payment/", params=query, headers=bearer)

    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_REQUEST_PARAMS"
    assert f'"{next(iter(params))}"' in answer.json()["message"]
