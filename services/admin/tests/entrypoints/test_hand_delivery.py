"""Delivering keys by hand (API and form): the keys leave the admin only sealed to
delivery's public key, the action is audited without them, and nothing the admin stores,
logs or answers ever holds one."""

import json
import logging
import re
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from admin_support import (
    RunningAdmin,
    StandIns,
    audit_of,
    csrf_of,
)

from bitloot_contracts.events import SealedKeys
from bitloot_runtime.sealing import generate_key_pair, load_private_key, unseal
from bitloot_testing.leaks import Needles, database_dump

PRIVATE, PUBLIC = generate_key_pair()
HAND = "keys_delivered_by_hand"
SERIALS = ("AAAAA-BBBBB-CCCCC", "DDDDD-EEEEE-FFFFF", "GGGGG-HHHHH-IIIII")


@pytest.fixture
def admin_settings() -> dict[str, Any]:
    """The admin service holds delivery's public key (id d7)."""
    return {"delivery_public_key": PUBLIC, "delivery_key_id": "d7"}


def failed_order(stand_ins: StandIns, lines: list[tuple[str, int]]) -> UUID:
    """An order fulfillment failed, holding `lines` (product, quantity)."""
    products = [{"kinguin_product_id": p, "qty": q} for p, q in lines]
    return stand_ins.add_saga(uuid4(), "failed", lines=products)


def keys(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {"keys": [{"serial": s, "type": "text/plain", "product_id": p} for s, p in pairs]}


def hand_path(order_id: UUID) -> str:
    return f"/internal/orders/{order_id}/deliver-by-hand"


def api_path(order_id: UUID) -> str:
    return f"/admin/api/orders/{order_id}/deliver-keys"


def form_path(order_id: UUID) -> str:
    return f"/admin/orders/{order_id}/deliver-keys"


def opened(sent: dict[str, Any], order_id: UUID, key_id: str = "d7") -> list[dict[str, str]]:
    """What delivery opens of the sealed keys fulfillment was given."""
    sealed = SealedKeys.model_validate(sent["sealed"])
    plaintext = unseal(sealed, {key_id: load_private_key(PRIVATE)}, order_id)
    document: dict[str, list[dict[str, str]]] = json.loads(plaintext)
    return document["keys"]


async def test_keys_reach_fulfillment_sealed_to_delivery_and_the_action_is_audited(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = failed_order(stand_ins, [("p-1", 2), ("p-2", 1)])
    stand_ins.refusals[hand_path(order_id)] = (200, {"state": "delivering"})
    entered = keys((SERIALS[0], "p-1"), (SERIALS[2], "p-2"), (SERIALS[1], "p-1"))
    answer = await alice.post(api_path(order_id), json=entered)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"service": "fulfillment", "result": {"state": "delivering"}}
    assert stand_ins.posts == [("fulfillment", hand_path(order_id), "alice")]
    [sent] = stand_ins.bodies
    assert set(sent) == {"sealed", "key_count"}
    assert sent["key_count"] == 3
    assert sent["sealed"]["recipient_key_id"] == "d7"
    assert opened(sent, order_id) == [
        {"type": "text/plain", "value": SERIALS[0], "product_id": "p-1"},
        {"type": "text/plain", "value": SERIALS[2], "product_id": "p-2"},
        {"type": "text/plain", "value": SERIALS[1], "product_id": "p-1"},
    ]
    # Sealed to this order: the same payload does not open as another order's.
    with pytest.raises(Exception, match="do not open"):
        opened(sent, uuid4())
    [entry] = await audit_of(alice, HAND)
    assert (entry["username"], entry["target"], entry["outcome"]) == (
        "alice",
        f"orders/{order_id}",
        "ok",
    )
    assert entry["detail"] == {"service": "fulfillment", "status": 200, "key_count": 3}


@pytest.mark.parametrize(
    ("entered", "error"),
    [
        (keys((SERIALS[0], "p-1")), "key_count_mismatch"),
        (keys((SERIALS[0], "p-1"), (SERIALS[1], "p-9")), "key_count_mismatch"),
        (keys((SERIALS[0], "p-1"), (SERIALS[0], "p-1")), "duplicate_key"),
        (keys((SERIALS[0], "p-1"), (SERIALS[1] + "\u0007", "p-1")), "key_not_printable"),
    ],
)
async def test_keys_that_do_not_fit_the_order_are_refused_audited_and_never_sent(
    alice: httpx.AsyncClient, stand_ins: StandIns, entered: dict[str, Any], error: str
) -> None:
    order_id = failed_order(stand_ins, [("p-1", 2)])
    answer = await alice.post(api_path(order_id), json=entered)
    assert (answer.status_code, answer.json()["error"]) == (422, error)
    assert stand_ins.posts == []
    [entry] = await audit_of(alice, HAND)
    assert (entry["outcome"], entry["detail"]["service"]) == (error, "admin")
    assert not any(serial in answer.text for serial in SERIALS)


async def test_a_malformed_body_is_refused_without_echoing_a_key(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = failed_order(stand_ins, [("p-1", 1)])
    path = api_path(order_id)
    too_long = keys(("K" * 513, "p-1"))
    image = {"keys": [{"serial": SERIALS[0], "type": "image/png", "product_id": "p-1"}]}
    answers = [
        await alice.post(path, json=too_long),
        await alice.post(path, json=image),
        await alice.post(path, json={"keys": []}),
        await alice.post(path, content=SERIALS[0]),
    ]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [
        (422, "invalid_request"),
        (422, "invalid_request"),
        (422, "invalid_request"),
        (415, "unsupported_media_type"),
    ]
    assert not any(SERIALS[0] in a.text or "KKKK" in a.text for a in answers)
    assert stand_ins.posts == []


async def test_fulfillments_refusal_is_passed_on_and_audited(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = failed_order(stand_ins, [("p-1", 1)])
    refusal = {"error": "already_delivered_by_hand", "detail": "admin:bob already did."}
    stand_ins.refusals[hand_path(order_id)] = (409, refusal)
    answer = await alice.post(api_path(order_id), json=keys((SERIALS[0], "p-1")))
    unknown = await alice.post(api_path(uuid4()), json=keys((SERIALS[0], "p-1")))
    assert (answer.status_code, answer.json()["error"]) == (409, "already_delivered_by_hand")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "order_not_found")
    outcomes = [entry["outcome"] for entry in await audit_of(alice, HAND)]
    assert outcomes == ["order_not_found", "already_delivered_by_hand"]


@pytest.mark.parametrize("admin_settings", [{}])
async def test_without_delivery_s_key_nothing_is_sent(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = failed_order(stand_ins, [("p-1", 1)])
    answer = await alice.post(api_path(order_id), json=keys((SERIALS[0], "p-1")))
    assert (answer.status_code, answer.json()["error"]) == (503, "hand_delivery_not_configured")
    assert stand_ins.posts == []
    assert [e["outcome"] for e in await audit_of(alice, HAND)] == ["hand_delivery_not_configured"]


async def test_a_session_cookie_must_send_the_csrf_token(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = failed_order(stand_ins, [("p-1", 1)])
    answer = await browser.post(api_path(order_id), json=keys((SERIALS[0], "p-1")))
    assert (answer.status_code, answer.json()["error"]) == (403, "csrf_failed")
    assert stand_ins.posts == []


async def test_the_form_asks_one_key_per_line_for_each_product_and_delivers_them(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = failed_order(stand_ins, [("p-1", 2), ("p-2", 1)])
    stand_ins.refusals[hand_path(order_id)] = (200, {"state": "delivering"})
    form = await browser.get(form_path(order_id))
    assert form.status_code == 200
    assert 'onsubmit="return confirm(' in form.text
    assert re.findall(r'name="(product_\d+)" value="([^"]+)"', form.text) == [
        ("product_1", "p-1"),
        ("product_2", "p-2"),
    ]
    forged = await browser.post(
        form_path(order_id),
        data={"csrf": "x" * 43, "product_1": "p-1", "keys_1": SERIALS[0]},
    )
    assert forged.status_code == 403
    assert stand_ins.posts == []
    done = await browser.post(
        form_path(order_id),
        data={
            "csrf": csrf_of(form),
            "product_1": "p-1",
            "keys_1": f"  {SERIALS[0]}\r\n\r\n{SERIALS[1]}\n",
            "product_2": "p-2",
            "keys_2": SERIALS[2],
        },
    )
    assert done.status_code == 200, done.text
    assert "Done: fulfillment accepted it." in done.text
    assert [k["value"] for k in opened(stand_ins.bodies[0], order_id)] == list(SERIALS)
    assert not any(serial in done.text for serial in SERIALS)


async def test_a_form_with_too_few_keys_says_so_without_sending_anything(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = failed_order(stand_ins, [("p-1", 2)])
    form = await browser.get(form_path(order_id))
    answer = await browser.post(
        form_path(order_id),
        data={"csrf": csrf_of(form), "product_1": "p-1", "keys_1": SERIALS[0]},
    )
    assert answer.status_code == 502
    assert "key_count_mismatch" in answer.text
    assert "the order holds 2 keys, 1 were entered" in answer.text
    assert SERIALS[0] not in answer.text
    assert stand_ins.posts == []


async def test_no_key_reaches_the_admins_database_logs_or_answers(
    admin: RunningAdmin,
    alice: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    stand_ins: StandIns,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    delivered, refused = (
        failed_order(stand_ins, [("p-1", 1)]),
        failed_order(stand_ins, [("p-1", 2)]),
    )
    stand_ins.refusals[hand_path(delivered)] = (200, {"state": "delivering"})
    answers = [
        await alice.post(api_path(delivered), json=keys((SERIALS[0], "p-1"))),
        await alice.post(api_path(refused), json=keys((SERIALS[1], "p-1"))),
        await alice.post(
            api_path(refused),
            json=keys((SERIALS[2], "p-1"), (SERIALS[2], "p-1")),
        ),
    ]
    form = await browser.get(form_path(refused))
    answers.append(
        await browser.post(
            form_path(refused),
            data={"csrf": csrf_of(form), "product_1": "p-1", "keys_1": SERIALS[1]},
        )
    )
    answers.append(await alice.get("/admin/api/audit"))
    assert [a.status_code for a in answers] == [200, 422, 422, 502, 200]
    haystacks = [
        ("admin database", await database_dump(admin.settings.database_url)),
        (
            "admin logs",
            "\n".join(json.dumps(r.__dict__, default=str) for r in caplog.records).encode(),
        ),
        *((f"answer {n}", a.content) for n, a in enumerate(answers)),
        ("sent to fulfillment", json.dumps(stand_ins.bodies).encode()),
    ]
    needles = Needles({f"key {n}": serial for n, serial in enumerate(SERIALS)})
    assert needles.find_all(haystacks) == []
    assert len(caplog.records) > 0
