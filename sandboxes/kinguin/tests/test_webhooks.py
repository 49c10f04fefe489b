import hashlib
import hmac
import json

from kinguin_harness import WEBHOOK_SECRET, Sandbox, place


def verified(headers: dict[str, str], raw: bytes) -> dict[str, object]:
    """The webhook body, checked as Kinguin documents it (an independent computation)."""
    expected = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha512).hexdigest()
    assert hmac.compare_digest(headers["x-kinguin-signature"], expected)
    assert headers["x-event-name"] == "order.status"
    assert headers["x-event-secret"] == WEBHOOK_SECRET
    body: dict[str, object] = json.loads(raw)
    return body


async def test_completed_order_sends_a_signed_webhook(sandbox: Sandbox) -> None:
    order = (await place(sandbox)).json()
    await sandbox.state.idle()

    [(headers, raw)] = sandbox.receiver.received
    body = verified(headers, raw)
    assert set(body) == {"orderId", "orderExternalId", "status", "updatedAt"}
    assert (body["orderId"], body["status"]) == (order["orderId"], "completed")
    assert str(body["updatedAt"]).endswith("+00:00")


async def test_reordered_webhooks_bring_a_stale_status_last(sandbox: Sandbox) -> None:
    await sandbox.client.post("/sandbox/faults", json={"reorder_callbacks": True})

    await place(sandbox)
    await sandbox.state.idle()

    bodies = [verified(h, raw) for h, raw in sandbox.receiver.received]
    assert [b["status"] for b in bodies] == ["completed", "processing"]
    assert str(bodies[1]["updatedAt"]) < str(bodies[0]["updatedAt"])


async def test_failed_webhook_is_retried_and_duplicates_sent(sandbox: Sandbox) -> None:
    sandbox.receiver.fail_first = 1
    await sandbox.client.post("/sandbox/faults", json={"duplicate_callbacks": 1})

    await place(sandbox)
    await sandbox.state.idle()

    assert len(sandbox.receiver.received) == 3
    hooks = (await sandbox.client.get("/sandbox/ledger")).json()[0]["webhooks"]
    assert [(h["attempts"], h["status_code"]) for h in hooks] == [(2, 200), (1, 200)]


async def test_webhook_url_can_be_set_after_start(sandbox: Sandbox) -> None:
    await sandbox.client.post("/sandbox/config", json={"webhook_url": None})
    await place(sandbox, external_id="bl-silent")
    await sandbox.state.idle()
    await sandbox.client.post("/sandbox/config", json={"webhook_url": sandbox.receiver.url})

    await place(sandbox, external_id="bl-heard")
    await sandbox.state.idle()

    assert [verified(h, raw)["orderExternalId"] for h, raw in sandbox.receiver.received] == [
        "bl-heard"
    ]
