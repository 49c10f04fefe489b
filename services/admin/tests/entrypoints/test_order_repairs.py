"""The order page offers only the repairs that can apply in the order's state, and each
asks before it reaches the customer."""

import base64
import hashlib
from uuid import uuid4

import httpx
import pytest
from admin_support import StandIns, forms_of

from bitloot_admin.domain.views import Saga
from bitloot_admin.entrypoints.confirm import ONSUBMIT
from bitloot_admin.entrypoints.pages import FRESH_LINK, RESEND, RETRY, repairs_for


def saga(state: str, failure_stage: str | None = None) -> Saga:
    return Saga(order_id=uuid4(), state=state, failure_stage=failure_stage)


@pytest.mark.parametrize(
    ("state", "stage", "offered"),
    [
        ("reserving", None, [RETRY]),  # stuck, perhaps: fulfillment says if it is not
        ("keys_requested", None, [RETRY]),
        ("delivering", None, [RETRY, RESEND, FRESH_LINK]),
        ("fulfilled", None, [RESEND, FRESH_LINK]),
        ("failed", "reservation", [RETRY]),  # no keys to mail
        ("failed", "delivery", [RETRY, RESEND, FRESH_LINK]),  # delivery holds the keys
        ("refunded", None, []),
    ],
)
def test_the_repairs_follow_the_saga_state(
    state: str, stage: str | None, offered: list[tuple[str, str]]
) -> None:
    assert repairs_for(saga(state, stage)) == offered


def test_with_no_saga_known_every_repair_is_offered_for_the_services_to_judge() -> None:
    assert repairs_for(None) == [RETRY, RESEND, FRESH_LINK]


async def test_a_fulfilled_order_offers_the_email_and_link_each_with_a_question_not_a_retry(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 1, customer_status="delivered")
    stand_ins.add_saga(order_id, "fulfilled")
    page = await browser.get(f"/admin/orders/{order_id}")
    forms = forms_of(page)
    base = f"/admin/orders/{order_id}"
    assert f"{base}/retry" not in forms
    assert "confirm(&#34;Email the customer another link" in forms[f"{base}/resend-email"]
    assert "confirm(&#34;Issue a fresh link" in forms[f"{base}/link"]
    # The page's policy lets the question run (the admin's pages run no other script).
    question = ONSUBMIT["repair:resend-email"]
    digest = base64.b64encode(hashlib.sha256(question.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in page.headers["content-security-policy"]


async def test_an_order_that_failed_before_its_keys_offers_a_retry_that_asks_and_no_email(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("b@example.com", 1, customer_status="failed")
    stand_ins.add_saga(order_id, "failed", failure_stage="reservation")
    page = await browser.get(f"/admin/orders/{order_id}")
    forms = forms_of(page)
    base = f"/admin/orders/{order_id}"
    assert "confirm(&#34;Retry this order" in forms[f"{base}/retry"]
    assert f"{base}/resend-email" not in forms
    assert f"{base}/link" not in forms
