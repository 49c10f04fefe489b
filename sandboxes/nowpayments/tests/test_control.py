from nowpayments_harness import Sandbox, create_invoice


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
    }
    reset = await sandbox.client.delete("/sandbox/faults")
    assert reset.json()["fail_next"] == 0
    assert reset.json()["reorder_callbacks"] is False


async def test_invalid_fault_is_refused_and_changes_nothing(sandbox: Sandbox) -> None:
    refused = await sandbox.client.post(
        "/sandbox/faults", json={"fail_next": 1, "duplicate_callbacks": True}
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
