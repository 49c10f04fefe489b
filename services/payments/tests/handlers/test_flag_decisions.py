"""An admin's decisions on flags, and replaying an IPN given up on, through the internal
API: each exactly once, whoever clicks and however often, and recorded with who and why."""

import asyncio
import json

import httpx
from payments_support import (
    execute,
    ipn,
    new_order,
    of_topic,
    order_row,
    results,
    scalar,
    send,
    settled,
    watching,
)
from sqlalchemy import select

from bitloot_payments.adapters.orm import ipn_log
from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.domain.records import PENDING, IpnEntry
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.rabbitmq import BusNamespace


async def only_flag(admin: httpx.AsyncClient, order_id: str) -> int:
    listed = await admin.get("/internal/flags", params={"order_id": order_id})
    [flag] = listed.json()["items"]
    return int(flag["id"])


def as_admin(name: str) -> dict[str, str]:
    return {"x-bitloot-actor": name}


async def late_payment(client: httpx.AsyncClient, runtime: ServiceRuntime) -> str:
    order_id = await new_order(client)
    for status in ("waiting", "expired", "finished"):
        await send(client, ipn(order_id, status))
    await settled(runtime)
    return order_id


async def test_accepting_a_late_payment_pays_the_order_once_even_when_two_admins_click(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    bus_prefix: BusNamespace,
    admin: httpx.AsyncClient,
) -> None:
    order_id = await late_payment(client, runtime)
    flag_id = await only_flag(admin, order_id)
    shown = (await admin.get(f"/internal/flags/{flag_id}")).json()
    assert (shown["status"], shown["order_status"]) == ("open", "failed")
    assert shown["decisions"] == ["accept", "refund-due", "dismiss"]
    async with watching(runtime, bus_prefix) as spy:
        answers = await asyncio.gather(
            *(
                admin.post(
                    f"/internal/flags/{flag_id}/accept",
                    json={"note": f"customer {name} wrote in"},
                    headers=as_admin(name),
                )
                for name in ("alice", "bob", "alice")
            )
        )
        messages = await spy.collect(expected=1, timeout=10)
    assert sorted(a.status_code for a in answers) == [200, 409, 409]
    refused = [a.json() for a in answers if a.status_code == 409]
    assert {r["error"] for r in refused} == {"flag_resolved"}
    [accepted] = [a.json() for a in answers if a.status_code == 200]
    assert accepted["order_status"] == "paid"
    assert accepted["flag"]["status"] == "accepted"
    assert accepted["flag"]["resolved_by"] in ("admin:alice", "admin:bob")
    assert accepted["flag"]["note"].startswith("customer ")
    [finished] = of_topic(messages, "payment.finished")
    assert (finished["order_id"], finished["payment_id"]) == (order_id, "5077125051")
    row = await order_row(runtime, order_id)
    assert (row["status"], row["payment_id"], row["payment_status"]) == (
        "paid",
        "5077125051",
        "finished",
    )


async def test_dismissing_needs_a_note_and_records_it(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    await send(client, ipn("0b5c5f0e-5a1c-4d1e-9a52-3b0c7c1b1a10", "finished"))
    await settled(runtime)
    listed = await admin.get("/internal/flags")
    [flag] = listed.json()["items"]
    assert flag["kind"] == "unknown_order"
    path = f"/internal/flags/{flag['id']}"
    shown = (await admin.get(path)).json()
    assert (shown["order_status"], shown["decisions"]) == (None, ["dismiss"])
    for body in (None, {"note": "  "}):
        silent = await admin.post(f"{path}/dismiss", json=body)
        assert (silent.status_code, silent.json()["error"]) == (422, "note_required")
    refund = await admin.post(f"{path}/refund-due")
    assert (refund.status_code, refund.json()["error"]) == (409, "cannot_refund_due")
    dismissed = await admin.post(
        f"{path}/dismiss",
        json={"note": "a test IPN from the NOWPayments dashboard"},
        headers=as_admin("dave"),
    )
    assert dismissed.status_code == 200
    flag_now = dismissed.json()["flag"]
    assert (flag_now["status"], flag_now["resolved_by"]) == ("dismissed", "admin:dave")
    assert flag_now["resolved_at"] is not None
    still_open = await admin.get("/internal/flags", params={"status": "open"})
    assert still_open.json()["items"] == []


async def test_bad_decision_requests_are_refused_and_change_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    order_id = await late_payment(client, runtime)
    flag_id = await only_flag(admin, order_id)
    path = f"/internal/flags/{flag_id}/accept"
    for content, status, error in (
        (b"{not json", 400, "malformed_json"),
        (b'{"note": 7}', 422, "invalid_request"),
        (b'{"note": "x", "extra": 1}', 422, "invalid_request"),
    ):
        answer = await admin.post(
            path, content=content, headers={"content-type": "application/json"}
        )
        assert (answer.status_code, answer.json()["error"]) == (status, error)
    for missing in ("/internal/flags/999999/accept", "/internal/flags/x/accept"):
        assert (await admin.post(missing)).status_code == 404
    assert (await client.post(path)).status_code == 401
    assert (await order_row(runtime, order_id))["status"] == "failed"


async def test_an_ipn_given_up_on_is_replayed_once_and_its_flag_closed(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    order_id = await new_order(client)
    body = json.dumps(ipn(order_id, "finished")).encode()
    async with runtime.units_of_work(PaymentsUnitOfWork)() as uow:
        broken = await uow.ipns.add(IpnEntry(b"{" + body, True, PENDING, "5077125051"))
        await uow.commit()
    assert [r[2] for r in await results(runtime)] == ["error"]
    # The cause is fixed (here: the stored body), then the IPN is replayed.
    await execute(runtime, ipn_log.update().where(ipn_log.c.id == broken).values(raw_body=body))
    path = f"/internal/ipns/{broken}/replay"
    first = await admin.post(path, headers=as_admin("erin"))
    assert (first.status_code, first.json()["replayed"]) == (200, True)
    assert first.json()["ipn"]["replayed_by"] == "admin:erin"
    await settled(runtime)
    assert [r[2] for r in await results(runtime)] == ["paid"]
    again = await admin.post(path)
    assert (again.status_code, again.json()["error"]) == (409, "ipn_not_failed")
    assert (await order_row(runtime, order_id))["status"] == "paid"
    flags = (await admin.get("/internal/flags")).json()["items"]
    assert [(f["kind"], f["status"], f["resolved_by"]) for f in flags] == [
        ("processing_error", "replayed", "admin:erin")
    ]
    shown = (await admin.get(f"/internal/ipns/{broken}")).json()
    assert (shown["result"], shown["retries"]) == ("paid", 3)
    assert shown["raw_body"] == body.decode()
    replays = await scalar(runtime, select(ipn_log.c.replayed_at).where(ipn_log.c.id == broken))
    assert replays is not None
