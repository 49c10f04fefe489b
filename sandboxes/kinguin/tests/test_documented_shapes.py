"""Every answer and webhook of the sandbox has exactly the fields Kinguin documents, of
the documented JSON types (the shapes are transcribed from the docs in kinguin_docs)."""

import base64
from decimal import Decimal

import httpx
from kinguin_docs import (
    BALANCE,
    ERROR,
    ERROR_KINDS,
    KEY,
    KEY_STATUSES,
    KEY_TYPES,
    ORDER,
    ORDER_SEARCH,
    ORDER_STATUS,
    ORDER_STATUSES,
    PRODUCT,
    PRODUCT_SEARCH,
    PRODUCT_UPDATE,
    REGION,
    RETURNED_KEY,
    WEBHOOK_HEADERS,
    WEBHOOK_TIME,
    Field,
    is_type,
    mismatches,
    preorder_release_date_rule,
)
from kinguin_harness import (
    PREORDER,
    WEBHOOK_SECRET,
    Sandbox,
    control,
    hooks,
    place,
)
from kinguin_harness import (
    PRODUCT as COUNTER_STRIKE,
)

HOLLOW_KNIGHT = "5c9b5e5e2539a4e8f17270b0"


def conforms(document: object, shape: dict[str, Field]) -> None:
    assert mismatches(document, shape) == []


def test_the_check_catches_a_missing_an_extra_and_a_mistyped_field() -> None:
    answer = {"balance": 1.5}

    assert mismatches(answer, BALANCE) == []
    assert mismatches({}, BALANCE) == ["balance: missing"]
    assert mismatches({"balance": "1.5"}, BALANCE) == ["balance: '1.5' is not float"]
    assert mismatches({**answer, "currency": "EUR"}, BALANCE) == ["currency: not documented"]
    assert mismatches({"balance": True}, BALANCE) == ["balance: True is not float"]


async def test_products_by_v1_and_v2_are_the_product_object(sandbox: Sandbox) -> None:
    by_id = (await sandbox.client.get(f"/v2/products/{COUNTER_STRIKE}")).json()
    by_kinguin_id = (await sandbox.client.get(f"/v1/products/{by_id['kinguinId']}")).json()
    preorder = (await sandbox.client.get(f"/v2/products/{PREORDER}")).json()

    searched = (await sandbox.client.get("/v1/products")).json()

    for product in (by_id, by_kinguin_id, preorder):
        conforms(product, PRODUCT)
    conforms(searched, PRODUCT_SEARCH)
    assert searched["item_count"] == len(searched["results"]) == 5
    assert by_id == by_kinguin_id
    assert (preorder["isPreorder"], preorder["releaseDate"]) == (True, "2031-06-01")


async def test_regions_platforms_and_genres_are_the_documented_lists(sandbox: Sandbox) -> None:
    regions = (await sandbox.client.get("/v1/regions")).json()
    platforms = (await sandbox.client.get("/v1/platforms")).json()
    genres = (await sandbox.client.get("/v1/genres")).json()
    product = (await sandbox.client.get(f"/v2/products/{COUNTER_STRIKE}")).json()

    for region in regions:
        conforms(region, REGION)
    assert is_type(platforms, "string[]")
    assert is_type(genres, "string[]")
    assert product["regionId"] in [region["id"] for region in regions]
    assert product["platform"] in platforms
    assert set(product["genres"]) <= set(genres)


async def test_a_placed_order_is_201_and_the_order_object(sandbox: Sandbox) -> None:
    v2 = await place(sandbox)
    line = {"kinguinId": 1949, "qty": 1, "price": 2.5}
    v1 = await sandbox.client.post("/v1/order", json={"products": [line]})

    for response in (v1, v2):
        assert response.status_code == 201
        order = response.json()
        conforms(order, ORDER)
        assert order["status"] in ORDER_STATUSES
        assert preorder_release_date_rule(order)


async def test_an_order_read_or_searched_is_the_order_object_with_its_keys(
    sandbox: Sandbox,
) -> None:
    placed = (await place(sandbox, qty=3)).json()
    await sandbox.state.idle()
    preorder = (await place(sandbox, "bl-pre", productId=PREORDER, price=30)).json()

    read = (await sandbox.client.get(f"/v1/order/{placed['orderId']}")).json()
    searched = (await sandbox.client.get("/v1/order")).json()

    conforms(read, ORDER)
    conforms(searched, ORDER_SEARCH)
    orders = [read, preorder, *searched["results"]]
    assert all(preorder_release_date_rule(order) for order in orders)
    assert {order["status"] for order in orders} <= ORDER_STATUSES
    statuses = [key["status"] for key in read["products"][0]["keys"]]
    assert statuses == ["DELIVERED"] * 3
    assert set(statuses) <= KEY_STATUSES
    assert (preorder["isPreorder"], preorder["preorderReleaseDate"]) == (True, "2031-06-01")
    assert "updatedAt" not in read


async def test_keys_are_key_objects_of_every_documented_type(sandbox: Sandbox) -> None:
    sandbox.state.store.image_keys_every = 2
    order = (await place(sandbox, qty=8)).json()
    await sandbox.state.idle()

    keys = (await sandbox.client.get(f"/v2/order/{order['orderId']}/keys")).json()

    assert isinstance(keys, list)
    for key in keys:
        conforms(key, KEY)
    assert [key["type"] for key in keys] == [
        "text/plain",
        "image/png",
        "text/plain",
        "image/jpeg",
        "text/plain",
        "image/gif",
        "text/plain",
        "image/png",
    ]
    assert {key["type"] for key in keys} == KEY_TYPES
    for key in keys[1::2]:
        base64.b64decode(key["serial"], validate=True)


async def test_returned_keys_are_the_documented_list(sandbox: Sandbox) -> None:
    order = (await place(sandbox)).json()
    await sandbox.state.idle()

    answer = await sandbox.client.post(f"/v2/order/{order['orderId']}/keys/return")

    assert answer.status_code == 200
    returned = answer.json()
    assert isinstance(returned, list)
    assert len(returned) == 2
    for key in returned:
        conforms(key, RETURNED_KEY)
        assert key["status"] in KEY_STATUSES


async def test_the_balance_is_the_documented_object(sandbox: Sandbox) -> None:
    conforms((await sandbox.client.get("/v1/balance")).json(), BALANCE)


async def test_every_error_is_the_documented_object_of_a_documented_kind(
    sandbox: Sandbox,
) -> None:
    sandbox.state.store.balance = Decimal("1")
    answers: list[httpx.Response] = [
        await sandbox.client.get("/v1/balance", headers={"X-Api-Key": "wrong"}),
        await sandbox.client.get("/v1/order/NOPE"),
        await sandbox.client.get("/v2/products/nope"),
        await place(sandbox, qty=10),
        await sandbox.client.get("/v1/order", params={"limit": 1000}),
        await place(sandbox, "bl-unavailable", productId="0" * 24),
        await place(sandbox, "bl-broke", qty=1, productId=HOLLOW_KNIGHT, price=5),
        await place(sandbox, "bl-pre", productId=PREORDER, price=30, keyType="text"),
    ]
    await control(sandbox, "faults", {"rate_limit_next": 1, "fail_next": 1})
    answers += [await sandbox.client.get("/v1/balance"), await sandbox.client.get("/v1/balance")]

    for answer in answers:
        body = answer.json()
        conforms(body, ERROR)
        assert (body["kind"] in ERROR_KINDS, body["status"]) == (True, answer.status_code)
    assert [a.json()["kind"] for a in answers] == [
        "Authorization",
        "OrderNotFound",
        "Http",
        "ConstraintViolation",
        "ConstraintViolation",
        "ProductUnavailable",
        "InsufficientBalance",
        "Preorder",
        "Http",
        "HttpClient",
    ]
    violation = answers[3].json()
    assert (violation["propertyPath"], violation["invalidValue"]) == ("products[0].qty", 10)
    assert (violation["path"], violation["method"]) == ("/v2/order", "POST")


async def test_order_status_webhooks_are_the_documented_body_and_headers(
    sandbox: Sandbox,
) -> None:
    await control(sandbox, "config", {"hold_completion": True})
    completed = (await place(sandbox, "bl-done")).json()["orderId"]
    canceled = (await place(sandbox, "bl-cancel")).json()["orderId"]
    await control(sandbox, f"orders/{completed}/complete")
    await control(sandbox, f"orders/{canceled}/cancel")
    await sandbox.state.idle()
    await control(sandbox, f"orders/{completed}/refund")
    await sandbox.state.idle()

    received = hooks(sandbox, "order.status")

    assert len(received) == len(sandbox.receiver.received) == 3
    for headers, body in received:
        conforms(body, ORDER_STATUS)
        assert headers["x-event-secret"] == WEBHOOK_SECRET
        assert all(name.lower() in headers for name in WEBHOOK_HEADERS)
        assert WEBHOOK_TIME.match(str(body["updatedAt"]))
    assert sorted((b["orderId"], b["status"]) for _, b in received) == sorted(
        [(completed, "completed"), (canceled, "canceled"), (completed, "refunded")]
    )


async def test_product_update_webhooks_are_the_documented_body_and_headers(
    sandbox: Sandbox,
) -> None:
    await control(sandbox, f"products/{COUNTER_STRIKE}/stock", {"stock": 7})
    await control(sandbox, f"products/{COUNTER_STRIKE}/price", {"price": 3.25})
    await sandbox.state.idle()

    received = hooks(sandbox, "product.update")

    assert len(received) == 2
    for headers, body in received:
        conforms(body, PRODUCT_UPDATE)
        assert headers["x-event-secret"] == WEBHOOK_SECRET
        assert headers["content-type"] == "application/json"
        assert WEBHOOK_TIME.match(str(body["updatedAt"]))
        assert (body["productId"], body["qty"]) == (COUNTER_STRIKE, 7)
