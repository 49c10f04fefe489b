"""An order's life as Kinguin leads it: held, completed, canceled, refunded, a preorder
waiting for its release; products changing price and stock; the balance paying."""

import asyncio
from datetime import timedelta
from decimal import Decimal

from kinguin_harness import PREORDER, PRODUCT, RELEASE_DATE, Sandbox, control, hooks, place

MINECRAFT = "5c9b6f0d2539a4e8f17ab8e2"


async def balance(sandbox: Sandbox) -> float:
    answer: float = (await sandbox.client.get("/v1/balance")).json()["balance"]
    return answer


async def order(sandbox: Sandbox, order_id: str) -> dict[str, object]:
    answer: dict[str, object] = (await sandbox.client.get(f"/v1/order/{order_id}")).json()
    return answer


async def keys(sandbox: Sandbox, order_id: str) -> list[dict[str, object]]:
    answer: list[dict[str, object]] = (
        await sandbox.client.get(f"/v2/order/{order_id}/keys")
    ).json()
    return answer


async def stock(sandbox: Sandbox, product_id: str) -> int:
    answer: int = (await sandbox.client.get(f"/v2/products/{product_id}")).json()["qty"]
    return answer


def statuses(sandbox: Sandbox) -> list[tuple[object, object]]:
    return [(body["orderId"], body["status"]) for _, body in hooks(sandbox, "order.status")]


async def test_a_held_order_stays_processing_until_completed_by_hand(sandbox: Sandbox) -> None:
    await control(sandbox, "config", {"hold_completion": True})
    order_id = (await place(sandbox)).json()["orderId"]
    await asyncio.sleep(0.1)
    await sandbox.state.idle()

    held = await order(sandbox, order_id)
    no_keys = await keys(sandbox, order_id)
    silent = statuses(sandbox)
    completed = await control(sandbox, f"orders/{order_id}/complete")
    await sandbox.state.idle()

    assert (held["status"], no_keys, silent) == ("processing", [], [])
    assert completed.json()["status"] == "completed"
    assert (await order(sandbox, order_id))["status"] == "completed"
    assert len(await keys(sandbox, order_id)) == 2
    assert statuses(sandbox) == [(order_id, "completed")]


async def test_hold_completion_is_read_from_the_configuration(sandbox: Sandbox) -> None:
    answer = await control(sandbox, "config", {"hold_completion": True})
    refused = await control(sandbox, "config", {"hold_completion": "yes"})

    assert answer.json()["hold_completion"] is True
    assert refused.status_code == 400
    assert (await sandbox.client.get("/sandbox/config")).json()["hold_completion"] is True


async def test_a_canceled_order_never_gets_keys_and_gives_back_stock_and_balance(
    sandbox: Sandbox,
) -> None:
    await control(sandbox, "config", {"hold_completion": True})
    before = (await balance(sandbox), await stock(sandbox, PRODUCT))
    order_id = (await place(sandbox)).json()["orderId"]
    charged = await balance(sandbox)

    canceled = await control(sandbox, f"orders/{order_id}/cancel")
    again = await control(sandbox, f"orders/{order_id}/complete")
    await sandbox.state.idle()

    assert charged == before[0] - 5.0
    assert canceled.status_code == 200
    assert again.status_code == 409
    read = await order(sandbox, order_id)
    assert read["status"] == "canceled"
    assert (await balance(sandbox), await stock(sandbox, PRODUCT)) == before
    assert await keys(sandbox, order_id) == []
    assert canceled.json()["keys"] == []
    assert statuses(sandbox) == [(order_id, "canceled")]


async def test_a_cancel_before_the_automatic_completion_wins(sandbox: Sandbox) -> None:
    await control(sandbox, "config", {"webhook_delay": 0.3})
    order_id = (await place(sandbox)).json()["orderId"]

    await control(sandbox, f"orders/{order_id}/cancel")
    await sandbox.state.idle()

    assert (await order(sandbox, order_id))["status"] == "canceled"
    assert statuses(sandbox) == [(order_id, "canceled")]


async def test_a_completed_order_is_refunded_to_the_balance(sandbox: Sandbox) -> None:
    before = await balance(sandbox)
    order_id = (await place(sandbox)).json()["orderId"]
    await sandbox.state.idle()

    refunded = await control(sandbox, f"orders/{order_id}/refund")
    twice = await control(sandbox, f"orders/{order_id}/refund")
    await sandbox.state.idle()

    assert (refunded.status_code, twice.status_code) == (200, 409)
    read = (await sandbox.client.get(f"/v1/order/{order_id}")).json()
    assert read["status"] == "refunded"
    assert [k["status"] for k in read["products"][0]["keys"]] == ["REFUNDED"] * 2
    assert await balance(sandbox) == before
    assert statuses(sandbox) == [(order_id, "completed"), (order_id, "refunded")]


async def test_only_a_processing_order_can_be_canceled_and_a_completed_one_refunded(
    sandbox: Sandbox,
) -> None:
    await control(sandbox, "config", {"hold_completion": True})
    order_id = (await place(sandbox)).json()["orderId"]

    refund_too_early = await control(sandbox, f"orders/{order_id}/refund")
    await control(sandbox, f"orders/{order_id}/complete")
    cancel_too_late = await control(sandbox, f"orders/{order_id}/cancel")
    unknown = await control(sandbox, "orders/NOPE/cancel")

    assert (refund_too_early.status_code, cancel_too_late.status_code) == (409, 409)
    assert "processing" in refund_too_early.json()["detail"]
    assert unknown.status_code == 404
    assert (await order(sandbox, order_id))["status"] == "completed"


async def test_a_preorder_waits_for_its_release_then_completes(sandbox: Sandbox) -> None:
    placed = (await place(sandbox, "bl-pre", productId=PREORDER, price=30, qty=1)).json()
    order_id = placed["orderId"]
    await asyncio.sleep(0.1)
    await sandbox.state.idle()
    waiting = await order(sandbox, order_id)
    no_keys = await keys(sandbox, order_id)

    released = await control(sandbox, f"products/{PREORDER}/release")
    await sandbox.state.idle()

    assert (placed["isPreorder"], placed["preorderReleaseDate"]) == (True, RELEASE_DATE)
    assert (waiting["status"], waiting["isPreorder"], no_keys) == ("processing", True, [])
    assert released.json()["completed"] == [order_id]
    assert (await order(sandbox, order_id))["status"] == "completed"
    assert len(await keys(sandbox, order_id)) == 1
    assert statuses(sandbox) == [(order_id, "completed")]
    product = (await sandbox.client.get(f"/v2/products/{PREORDER}")).json()
    assert product["isPreorder"] is False


async def test_preorders_follow_the_documented_requirements(sandbox: Sandbox) -> None:
    preorder = {"productId": PREORDER, "qty": 1, "price": 30}
    regular = {"productId": PRODUCT, "qty": 1, "price": 2.5}

    mixed = await sandbox.client.post("/v2/order", json={"products": [preorder, regular]})
    key_type = await place(sandbox, productId=PREORDER, price=30, keyType="text")

    for refused in (mixed, key_type):
        assert (refused.status_code, refused.json()["kind"]) == (400, "Preorder")
    assert (await sandbox.client.get("/sandbox/ledger")).json() == []


async def test_a_price_change_is_sold_at_and_announced(sandbox: Sandbox) -> None:
    changed = await control(sandbox, f"products/{PRODUCT}/price", {"price": 3.1})
    too_cheap = await place(sandbox, "bl-old-price", price=2.5)
    at_new_price = await place(sandbox, "bl-new-price", price=3.1)
    bad = await control(sandbox, f"products/{PRODUCT}/price", {"price": -1})
    await sandbox.state.idle()

    assert changed.json() == {"productId": PRODUCT, "price": 3.1}
    assert "price changed" in too_cheap.json()["detail"]
    assert at_new_price.json()["totalPrice"] == 6.2
    assert bad.status_code == 400
    assert (await sandbox.client.get(f"/v2/products/{PRODUCT}")).json()["price"] == 3.1
    [(_, update)] = hooks(sandbox, "product.update")
    assert update["productId"] == PRODUCT
    recorded = (await sandbox.client.get("/sandbox/product-updates")).json()
    assert [(u["productId"], u["status_code"]) for u in recorded] == [(PRODUCT, 200)]


async def test_a_stock_change_is_announced_with_the_new_quantity(sandbox: Sandbox) -> None:
    await control(sandbox, f"products/{MINECRAFT}/stock", {"stock": 0})
    refused = await place(sandbox, productId=MINECRAFT, price=20, qty=1)
    await sandbox.state.idle()

    assert refused.json()["kind"] == "ProductUnavailable"
    [(headers, update)] = hooks(sandbox, "product.update")
    assert (headers["x-event-name"], update["productId"], update["qty"]) == (
        "product.update",
        MINECRAFT,
        0,
    )


async def test_the_balance_pays_for_orders_and_refuses_one_it_cannot_cover(
    sandbox: Sandbox,
) -> None:
    sandbox.state.store.balance = Decimal("6")
    first = await place(sandbox, "bl-a")
    second = await place(sandbox, "bl-b")

    assert first.status_code == 201
    assert (second.status_code, second.json()["kind"]) == (400, "InsufficientBalance")
    assert await balance(sandbox) == 1.0


async def test_orders_are_searched_by_the_documented_filters(sandbox: Sandbox) -> None:
    await control(sandbox, "config", {"hold_completion": True})
    regular = (await place(sandbox, "bl-regular")).json()["orderId"]
    pre = (await place(sandbox, "bl-pre", productId=PREORDER, price=30, qty=1)).json()["orderId"]

    async def found(**params: str | int) -> list[object]:
        answer = (await sandbox.client.get("/v1/order", params=params)).json()
        return [o["orderId"] for o in answer["results"]]

    assert await found(isPreorder="yes") == [pre]
    assert await found(isPreorder="no") == [regular]
    assert await found(productId=PRODUCT) == [regular]
    assert await found(kinguinId=99001) == [pre]
    assert await found(orderId=regular) == [regular]
    assert await found(status="processing") == [pre, regular]
    assert await found(createdAtFrom="2000-01-01", createdAtTo="2000-01-02") == []
    assert await found(createdAtFrom="2000-01-01T00:00:00+00:00") == [pre, regular]
    refused = await sandbox.client.get("/v1/order", params={"createdAtFrom": "soon"})
    assert refused.json()["kind"] == "ConstraintViolation"


async def test_returned_keys_go_back_to_stock_and_the_balance_once(sandbox: Sandbox) -> None:
    await control(sandbox, "config", {"hold_completion": True})
    before = (await balance(sandbox), await stock(sandbox, PRODUCT))
    order_id = (await place(sandbox)).json()["orderId"]
    url = f"/v2/order/{order_id}/keys/return"
    await control(sandbox, f"orders/{order_id}/complete")

    returned = await sandbox.client.post(url)
    again = await sandbox.client.post(url)

    assert [key["status"] for key in returned.json()] == ["DELIVERED", "DELIVERED"]
    assert (again.status_code, again.json()["kind"]) == (400, "NoKeysToReturn")
    assert "requested already" in again.json()["detail"]
    read = (await sandbox.client.get(f"/v1/order/{order_id}")).json()
    assert [k["status"] for k in read["products"][0]["keys"]] == ["RETURNED"] * 2
    assert (await balance(sandbox), await stock(sandbox, PRODUCT)) == before


async def test_a_return_asked_while_the_keys_are_delayed_is_carried_out_on_delivery(
    sandbox: Sandbox,
) -> None:
    # features/ReturnKeys.md: "In case of delay in delivering keys, the return will be
    # executed separately once key will be delivered."
    await control(sandbox, "config", {"hold_completion": True})
    before = (await balance(sandbox), await stock(sandbox, PRODUCT))
    order_id = (await place(sandbox)).json()["orderId"]
    url = f"/v2/order/{order_id}/keys/return"

    taken = await sandbox.client.post(url)
    again = await sandbox.client.post(url)
    await control(sandbox, f"orders/{order_id}/complete")

    assert [key["status"] for key in taken.json()] == ["PROCESSING", "PROCESSING"]
    assert again.json()["kind"] == "NoKeysToReturn"
    read = (await sandbox.client.get(f"/v1/order/{order_id}")).json()
    assert [k["status"] for k in read["products"][0]["keys"]] == ["RETURNED"] * 2
    assert (await balance(sandbox), await stock(sandbox, PRODUCT)) == before


async def test_keys_delivered_over_24_hours_ago_cannot_be_returned(sandbox: Sandbox) -> None:
    await control(sandbox, "config", {"hold_completion": True})
    order_id = (await place(sandbox)).json()["orderId"]
    await control(sandbox, f"orders/{order_id}/complete")
    held = sandbox.state.store.orders[order_id]
    assert held.delivered_at is not None
    held.delivered_at -= timedelta(hours=24, seconds=1)

    refused = await sandbox.client.post(f"/v2/order/{order_id}/keys/return")

    assert (refused.status_code, refused.json()["kind"]) == (400, "NoKeysToReturn")
    assert "24 hours" in refused.json()["detail"]
    read = (await sandbox.client.get(f"/v1/order/{order_id}")).json()
    assert [k["status"] for k in read["products"][0]["keys"]] == ["DELIVERED"] * 2


async def test_a_preorders_keys_cannot_be_returned(sandbox: Sandbox) -> None:
    order_id = (await place(sandbox, productId=PREORDER, price=30, qty=1)).json()["orderId"]
    await control(sandbox, f"products/{PREORDER}/release")
    await sandbox.state.idle()

    refused = await sandbox.client.post(f"/v2/order/{order_id}/keys/return")

    assert (refused.status_code, refused.json()["kind"]) == (400, "NoKeysToReturn")
    assert "pre-order" in refused.json()["detail"]
