import asyncio

import httpx
from kinguin_harness import API_KEY, PRODUCT, Sandbox, place

from bitloot_sandbox_kinguin.config import KinguinSandboxConfig
from bitloot_sandbox_kinguin.server import running_app
from bitloot_sandbox_kinguin.throttle import Throttle


async def test_order_is_processing_with_the_real_fields(sandbox: Sandbox) -> None:
    response = await place(sandbox)

    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "processing"
    assert order["orderExternalId"] == "bl-1"
    assert order["totalPrice"] == 5.0
    assert order["products"][0]["productId"] == PRODUCT
    assert order["products"][0]["qty"] == 2
    assert order["createdAt"].endswith("+00:00")


async def test_same_external_id_places_another_order_as_the_docs_promise_nothing_else(
    sandbox: Sandbox,
) -> None:
    # api/order/v2/README.md: orderExternalId "should be unique"; no de-duplication is
    # documented, so a buyer repeating its POST buys twice (and must look up instead).
    first = (await place(sandbox)).json()
    again = await place(sandbox, qty=5)

    assert again.status_code == 201
    assert again.json()["orderId"] != first["orderId"]
    ledger = (await sandbox.client.get("/sandbox/ledger")).json()
    assert [(o["orderExternalId"], o["totalQty"]) for o in ledger] == [("bl-1", 2), ("bl-1", 5)]
    assert [o["duplicate_attempts"] for o in ledger] == [1, 0]
    found = await sandbox.client.get("/v1/order", params={"orderExternalId": "bl-1"})
    assert [o["orderId"] for o in found.json()["results"]] == [
        again.json()["orderId"],
        first["orderId"],
    ]


async def test_every_purchase_request_is_in_the_purchase_ledger_with_its_answer(
    sandbox: Sandbox,
) -> None:
    await sandbox.client.post("/sandbox/faults", json={"rate_limit_next": 1})
    limited = await place(sandbox, external_id="bl-2")
    bought = await place(sandbox, external_id="bl-2")
    refused = await place(sandbox, external_id="bl-3", qty=10)
    unreadable = await sandbox.client.post("/v2/order", content=b"not json")

    purchases = (await sandbox.client.get("/sandbox/purchases")).json()

    assert [(p["orderExternalId"], p["status"]) for p in purchases] == [
        ("bl-2", 429),
        ("bl-2", 201),
        ("bl-3", 400),
        (None, 400),
    ]
    assert (limited.status_code, refused.status_code, unreadable.status_code) == (429, 400, 400)
    assert [p["orderId"] for p in purchases] == [None, bought.json()["orderId"], None, None]
    assert purchases[0]["products"] == [{"productId": PRODUCT, "qty": 2, "price": 2.5}]
    assert purchases[0]["path"] == "/v2/order"
    assert purchases[0]["at"] <= purchases[0]["answeredAt"] <= purchases[1]["at"]


async def test_every_lookup_by_external_id_is_recorded_with_what_it_found(
    sandbox: Sandbox,
) -> None:
    await place(sandbox, external_id="bl-7")
    await sandbox.client.get("/v1/order", params={"orderExternalId": "bl-7"})
    await sandbox.client.get("/v1/order", params={"orderExternalId": "bl-8"})
    await sandbox.client.get("/v1/order")  # no external id: not a lookup of an order

    lookups = (await sandbox.client.get("/sandbox/lookups")).json()

    assert [(lookup["orderExternalId"], lookup["found"]) for lookup in lookups] == [
        ("bl-7", 1),
        ("bl-8", 0),
    ]


async def test_order_without_the_api_key_is_unauthorized(sandbox: Sandbox) -> None:
    response = await sandbox.client.post("/v2/order", json={}, headers={"X-Api-Key": "nope"})

    assert response.status_code == 401
    assert response.json()["kind"] == "Authorization"


async def test_constraints_and_availability_are_enforced(sandbox: Sandbox) -> None:
    too_many = await place(sandbox, qty=10)
    unknown = await place(sandbox, productId="0" * 24)
    cheaper = await place(sandbox, price=2.0)
    await sandbox.client.post("/sandbox/faults", json={"out_of_stock": [PRODUCT]})
    out_of_stock = await place(sandbox)

    assert (too_many.status_code, too_many.json()["kind"]) == (400, "ConstraintViolation")
    assert unknown.json()["kind"] == "ProductUnavailable"
    assert "price changed" in cheaper.json()["detail"]
    assert out_of_stock.json()["kind"] == "ProductUnavailable"
    assert (await sandbox.client.get("/sandbox/ledger")).json() == []


async def test_keys_come_in_pages_once_delivered(sandbox: Sandbox) -> None:
    order = (await place(sandbox, qty=5)).json()
    url = f"/v2/order/{order['orderId']}/keys"
    early = await sandbox.client.get(url)
    await sandbox.state.idle()

    pages = [
        (await sandbox.client.get(url, params={"page": p, "limit": 2})).json() for p in (1, 2, 3)
    ]

    # None is delivered while the order is processing: an empty page, not an error.
    assert (early.status_code, early.json()) == (200, [])
    assert [len(page) for page in pages] == [2, 2, 1]
    keys = [key for page in pages for key in page]
    assert len({key["serial"] for key in keys}) == 5
    assert keys[0]["type"] == "text/plain"
    ledger = (await sandbox.client.get("/sandbox/ledger")).json()
    assert [k["serial"] for k in ledger[0]["keys"]] == [k["serial"] for k in keys]


async def test_orders_are_found_by_external_id_and_by_id(sandbox: Sandbox) -> None:
    order = (await place(sandbox, external_id="bl-7")).json()
    await place(sandbox, external_id="bl-8")

    found = (await sandbox.client.get("/v1/order", params={"orderExternalId": "bl-7"})).json()
    one = await sandbox.client.get(f"/v1/order/{order['orderId']}")
    missing = await sandbox.client.get("/v1/order/NOPE")

    assert found["item_count"] == 1
    assert found["results"][0]["orderId"] == order["orderId"]
    assert one.json()["orderExternalId"] == "bl-7"
    assert (missing.status_code, missing.json()["kind"]) == (404, "OrderNotFound")


async def test_rate_limited_calls_answer_429_then_succeed(sandbox: Sandbox) -> None:
    await sandbox.client.post("/sandbox/faults", json={"rate_limit_next": 1})

    limited = await place(sandbox)
    passed = await place(sandbox)

    assert (limited.status_code, limited.headers["retry-after"]) == (429, "1")
    assert limited.json()["kind"] == "Http"
    assert passed.status_code == 201


async def test_a_held_answer_comes_after_the_order_is_recorded(sandbox: Sandbox) -> None:
    await sandbox.client.post("/sandbox/faults", json={"hold_order_answer_seconds": 2})
    answer = asyncio.create_task(place(sandbox, external_id="held"))

    for _ in range(500):
        if (await sandbox.client.get("/sandbox/ledger")).json():
            break
        await asyncio.sleep(0.01)
    # The buyer still waits, but the order exists: a retry must look it up first.
    assert not answer.done()
    [waiting] = (await sandbox.client.get("/sandbox/purchases")).json()
    assert (waiting["orderExternalId"], waiting["status"]) == ("held", None)
    found = await sandbox.client.get("/v1/order", params={"orderExternalId": "held"})
    response = await answer
    assert response.status_code == 201
    assert [o["orderId"] for o in found.json()["results"]] == [response.json()["orderId"]]


async def test_every_api_call_is_listed_in_order(sandbox: Sandbox) -> None:
    await place(sandbox)
    await sandbox.client.get(f"/v2/products/{PRODUCT}")
    await sandbox.client.get("/sandbox/ledger")

    calls = (await sandbox.client.get("/sandbox/calls")).json()

    assert calls == ["POST /v2/order", f"GET /v2/products/{PRODUCT}"]


async def test_v1_finds_a_product_by_kinguin_id_only_and_v2_by_product_id_only(
    sandbox: Sandbox,
) -> None:
    by_string = await sandbox.client.get(f"/v2/products/{PRODUCT}")
    kinguin_id = by_string.json()["kinguinId"]
    by_integer = await sandbox.client.get(f"/v1/products/{kinguin_id}")

    assert by_string.status_code == by_integer.status_code == 200
    assert by_integer.json()["productId"] == PRODUCT
    assert (await sandbox.client.get(f"/v1/products/{PRODUCT}")).status_code == 404
    assert (await sandbox.client.get(f"/v2/products/{kinguin_id}")).status_code == 404


async def test_v1_places_an_order_by_kinguin_id_and_v2_by_product_id(sandbox: Sandbox) -> None:
    line = {"kinguinId": 1949, "qty": 1, "price": 2.5}
    by_kinguin_id = await sandbox.client.post(
        "/v1/order", json={"products": [line], "orderExternalId": "bl-v1"}
    )
    by_string = await sandbox.client.post(
        "/v1/order", json={"products": [{**line, "kinguinId": PRODUCT}]}
    )
    unknown = await sandbox.client.post("/v1/order", json={"products": [{**line, "kinguinId": 7}]})

    assert by_kinguin_id.status_code == 201
    assert by_kinguin_id.json()["products"][0]["productId"] == PRODUCT
    assert (by_string.status_code, by_string.json()["propertyPath"]) == (
        400,
        "products[0].kinguinId",
    )
    assert unknown.json()["kind"] == "ProductUnavailable"
    assert (await sandbox.client.get("/v1/order")).json()["item_count"] == 1


async def test_products_are_searched_by_the_documented_filters(sandbox: Sandbox) -> None:
    async def found(**params: str) -> list[int]:
        answer = (await sandbox.client.get("/v1/products", params=params)).json()
        return [product["kinguinId"] for product in answer["results"]]

    assert await found() == [1949, 10384, 22501, 30377, 99001]
    assert await found(name="hollow") == [30377, 99001]
    assert await found(kinguinId="1949,22501") == [1949, 22501]
    assert await found(productId=PRODUCT) == [1949]
    assert await found(isPreorder="yes") == [99001]
    assert await found(activePreorder="yes", platform="Steam") == [99001]
    assert await found(sortBy="kinguinId", sortType="desc", limit="2") == [99001, 30377]
    assert await found(genre="Racing") == []
    await sandbox.client.post(f"/sandbox/products/{PRODUCT}/stock", json={"stock": 3})
    assert await found(sortBy="updatedAt", sortType="desc", limit="1") == [1949]
    assert await found(updatedSince="2999-01-01") == []
    short = await sandbox.client.get("/v1/products", params={"name": "ho"})
    assert (short.status_code, short.json()["propertyPath"]) == (400, "name")


async def test_calls_beyond_the_rate_limit_answer_429_until_the_minute_has_room() -> None:
    clock = [0.0]
    throttle = Throttle(3, clock=lambda: clock[0])
    assert [throttle.admit() for _ in range(3)] == [None, None, None]
    clock[0] = 20.0
    assert throttle.admit() == 40
    clock[0] = 60.0
    assert [throttle.admit() for _ in range(4)] == [None, None, None, 60]
    assert throttle.as_json() == {
        "per_minute": 3,
        "arrivals": [0.0, 0.0, 0.0, 20.0, 60.0, 60.0, 60.0, 60.0],
        "refused": 2,
    }


async def test_every_call_s_arrival_is_counted_and_none_refused_without_a_limit(
    sandbox: Sandbox,
) -> None:
    for _ in range(3):
        await sandbox.client.get(f"/v2/products/{PRODUCT}")
    rate = (await sandbox.client.get("/sandbox/rate")).json()
    assert (rate["per_minute"], rate["refused"], len(rate["arrivals"])) == (0, 0, 3)


async def test_a_call_beyond_the_configured_limit_answers_429_with_retry_after() -> None:
    config = KinguinSandboxConfig(api_key=API_KEY, port=0, rate_limit_per_minute=2)
    async with running_app(config) as (url, _), httpx.AsyncClient(base_url=url) as client:
        headers = {"X-Api-Key": API_KEY}
        answers = [await client.get(f"/v2/products/{PRODUCT}", headers=headers) for _ in range(3)]
        rate = (await client.get("/sandbox/rate")).json()
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["kind"] == "Http"
    assert 59 <= int(answers[2].headers["retry-after"]) <= 60
    assert rate["refused"] == 1
