import pytest
from nowpayments_harness import (
    Sandbox,
    create_invoice,
    listed,
    paid_invoice,
    payment_status,
    received,
)


async def test_faults_change_only_the_given_fields_and_reset(sandbox: Sandbox) -> None:
    await sandbox.client.post("/sandbox/faults", json={"fail_next": 2})
    changed = await sandbox.client.post("/sandbox/faults", json={"reorder_callbacks": True})

    assert changed.json() == {
        "rate_limit_next": 0,
        "fail_next": 2,
        "duplicate_callbacks": 0,
        "reorder_callbacks": True,
        "slow_next": 0,
        "slow_ms": 0,
        "drop_ipns": 0,
        "drop_all_ipns": False,
        "hold_payouts": 0,
        "hold_ms": 0,
    }
    reset = await sandbox.client.delete("/sandbox/faults")
    assert reset.json()["fail_next"] == 0
    assert reset.json()["reorder_callbacks"] is False


async def test_invalid_fault_is_refused_and_changes_nothing(sandbox: Sandbox) -> None:
    refused = await sandbox.client.post(
        "/sandbox/faults", json={"fail_next": 1, "drop_all_ipns": 1}
    )

    assert refused.status_code == 400
    assert (await sandbox.client.get("/sandbox/faults")).json()["fail_next"] == 0


async def test_paying_an_unknown_outcome_is_refused(sandbox: Sandbox) -> None:
    invoice = await create_invoice(sandbox)

    refused = await sandbox.client.post(
        f"/sandbox/invoices/{invoice['id']}/pay", json={"outcome": "refunded"}
    )

    assert refused.status_code == 400
    assert sandbox.state.store.invoices[int(str(invoice["id"]))].payments == []


async def test_an_overpaid_invoice_finishes_with_what_was_paid(sandbox: Sandbox) -> None:
    paid = await paid_invoice(sandbox, actually_paid=30)

    status = await payment_status(sandbox, paid["payment_id"])

    assert (status["payment_status"], status["pay_amount"]) == ("finished", 25.5)
    assert status["actually_paid"] == received(sandbox)[-1]["actually_paid"] == 30
    assert status["outcome_amount"] == 29.85


async def test_an_underpaid_invoice_ends_partially_paid_with_what_was_paid(
    sandbox: Sandbox,
) -> None:
    paid = await paid_invoice(sandbox, outcome="partially_paid", actually_paid=10.25)

    status = await payment_status(sandbox, paid["payment_id"])

    assert (status["payment_status"], status["actually_paid"]) == ("partially_paid", 10.25)


@pytest.mark.parametrize("actually_paid", [-1, "30", True])
async def test_paying_an_invalid_amount_is_refused(sandbox: Sandbox, actually_paid: object) -> None:
    invoice = await create_invoice(sandbox)

    refused = await sandbox.client.post(
        f"/sandbox/invoices/{invoice['id']}/pay", json={"actually_paid": actually_paid}
    )

    assert refused.status_code == 400
    assert sandbox.state.store.payments == {}


async def test_late_funds_move_an_expired_payment_to_finished_with_one_ipn(
    sandbox: Sandbox,
) -> None:
    paid = await paid_invoice(sandbox, outcome="expired")
    before = len(sandbox.receiver.received)

    moved = await sandbox.client.post(
        f"/sandbox/payments/{paid['payment_id']}/status", json={"status": "finished"}
    )
    await sandbox.state.idle()

    assert moved.status_code == 200
    assert moved.json()["payment_status"] == "finished"
    [ipn] = received(sandbox)[before:]
    assert (ipn["payment_status"], ipn["actually_paid"]) == ("finished", 25.5)
    assert (await payment_status(sandbox, paid["payment_id"]))["payment_status"] == "finished"


async def test_status_control_sets_what_was_actually_paid(sandbox: Sandbox) -> None:
    paid = await paid_invoice(sandbox)

    await sandbox.client.post(
        f"/sandbox/payments/{paid['payment_id']}/status",
        json={"status": "partially_paid", "actually_paid": 12},
    )
    await sandbox.state.idle()

    status = await payment_status(sandbox, paid["payment_id"])
    assert (status["payment_status"], status["actually_paid"]) == ("partially_paid", 12)
    assert received(sandbox)[-1]["actually_paid"] == 12


async def test_a_status_move_whose_ipn_is_dropped_still_moves(sandbox: Sandbox) -> None:
    paid = await paid_invoice(sandbox, outcome="expired")
    before = len(sandbox.receiver.received)
    await sandbox.client.post("/sandbox/faults", json={"drop_ipns": 1})

    await sandbox.client.post(
        f"/sandbox/payments/{paid['payment_id']}/status", json={"status": "finished"}
    )
    await sandbox.state.idle()

    assert len(sandbox.receiver.received) == before
    assert (await payment_status(sandbox, paid["payment_id"]))["payment_status"] == "finished"
    ledger = (await sandbox.client.get("/sandbox/invoices")).json()
    assert ledger[0]["payments"][0]["ipns"][-1]["dropped"] is True


@pytest.mark.parametrize(
    ("body", "status"),
    [({"status": "paid"}, 400), ({}, 400), ({"status": "finished", "actually_paid": -2}, 400)],
)
async def test_an_invalid_status_move_is_refused(
    sandbox: Sandbox, body: dict[str, object], status: int
) -> None:
    paid = await paid_invoice(sandbox, outcome="expired")

    refused = await sandbox.client.post(f"/sandbox/payments/{paid['payment_id']}/status", json=body)

    assert refused.status_code == status
    assert sandbox.state.store.payments[int(str(paid["payment_id"]))].payment_status == "expired"


async def test_moving_an_unknown_payment_is_not_found(sandbox: Sandbox) -> None:
    for action in ("status", "redeposit"):
        answer = await sandbox.client.post(
            f"/sandbox/payments/123/{action}", json={"status": "finished"}
        )
        assert answer.status_code == 404


async def test_a_redeposit_is_a_child_payment_with_its_own_ipn(sandbox: Sandbox) -> None:
    parent = await paid_invoice(sandbox, outcome="partially_paid")

    answer = await sandbox.client.post(
        f"/sandbox/payments/{parent['payment_id']}/redeposit", json={"actually_paid": 12.75}
    )
    await sandbox.state.idle()

    assert answer.status_code == 201
    child = answer.json()
    assert (child["parent_payment_id"], child["origin_type"]) == (parent["payment_id"], "REPEATED")
    assert (child["invoice_id"], child["purchase_id"]) == (
        parent["invoice_id"],
        parent["purchase_id"],
    )
    assert (child["payment_status"], child["actually_paid"]) == ("finished", 12.75)
    parent_now = await payment_status(sandbox, parent["payment_id"])
    assert parent_now["payment_extra_ids"] == [child["payment_id"]]
    ipn = received(sandbox)[-1]
    assert (ipn["payment_id"], ipn["parent_payment_id"]) == (
        child["payment_id"],
        parent["payment_id"],
    )
    assert (ipn["order_id"], ipn["purchase_id"]) == (None, str(parent["purchase_id"]))


async def test_the_list_shows_a_redeposit_beside_its_parent(sandbox: Sandbox) -> None:
    parent = await paid_invoice(sandbox)
    child = await sandbox.client.post(
        f"/sandbox/payments/{parent['payment_id']}/redeposit", json={"status": "partially_paid"}
    )
    await sandbox.state.idle()

    page = await listed(sandbox, invoiceId=parent["invoice_id"])

    data = page["data"]
    assert isinstance(data, list)
    assert [(p["payment_id"], p.get("parent_payment_id")) for p in data] == [
        (parent["payment_id"], None),
        (child.json()["payment_id"], parent["payment_id"]),
    ]
    assert data[0]["payment_extra_ids"] == [child.json()["payment_id"]]
    assert data[1]["payment_status"] == "partially_paid"


async def test_a_redeposit_with_another_status_is_refused(sandbox: Sandbox) -> None:
    parent = await paid_invoice(sandbox)

    refused = await sandbox.client.post(
        f"/sandbox/payments/{parent['payment_id']}/redeposit", json={"status": "confirming"}
    )

    assert refused.status_code == 400
    assert len(sandbox.state.store.payments) == 1
