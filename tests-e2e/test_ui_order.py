"""The admin's order page in headless Chromium against the five services running for
real: a fulfilled order's timeline tells each fact once, "Resend email" asks before it
mails the customer (dismissed, nothing is sent; accepted, the page shows the email's
status read back from delivery), and the page fits a desktop and a phone."""

from pathlib import Path

import httpx
from browser import DESKTOP, PHONE, horizontal_overflow, log_in
from playwright.async_api import Browser, Dialog, Page, ViewportSize
from test_admin_ui import Services, fulfilled_order, wait_for

from bitloot_launch import catalog
from bitloot_launch.inprocess import ADMIN_USER, Stack


def viewport(size: dict[str, int]) -> ViewportSize:
    return ViewportSize(width=size["width"], height=size["height"])


class Dialogs:
    """Answers the page's `confirm()` questions as told (`accept`), keeping each one."""

    def __init__(self, page: Page, *, accept: bool) -> None:
        self.accept = accept
        self.questions: list[str] = []
        page.on("dialog", self._answer)

    async def _answer(self, dialog: Dialog) -> None:
        self.questions.append(dialog.message)
        await (dialog.accept() if self.accept else dialog.dismiss())


async def email_count(services: Services, order_id: str) -> int:
    """How many emails delivery's log holds for the order."""
    stack = services.stack
    answer = await services.http.get(
        f"{stack.delivery}/internal/orders/{order_id}/emails", headers=services.auth
    )
    return len(answer.json()["emails"])


async def test_an_order_page_tells_the_story_once_and_asks_before_mailing_the_customer(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        services = Services(http, stack)
        order_id = await fulfilled_order(services)
        page = await browser.new_page(viewport=viewport(DESKTOP))
        await log_in(page, stack.admin, stack.admin_password, ADMIN_USER, stack.admin_totp_secret)
        order_url = f"{stack.admin}/admin/orders/{order_id}"
        await page.goto(order_url)

        summary = await page.inner_text("#summary")
        assert "Fulfilled: the keys were delivered" in summary
        assert "Next step: Nothing to do." in summary
        titles = await page.locator("#timeline > li .title").all_inner_texts()
        assert len(titles) <= 12, titles
        assert len(titles) == len(set(titles)), titles
        assert any(title.startswith("Payment finished: ") for title in titles), titles
        assert "Key email accepted by mail server" in titles
        # Each row's time is relative, with the exact UTC time on hover.
        first = page.locator("#timeline > li time").first
        assert (await first.get_attribute("title") or "").endswith(" UTC")
        assert await first.get_attribute("datetime")
        await page.screenshot(path=str(tmp_path / "order-desktop.png"), full_page=True)
        assert await horizontal_overflow(page) == 0

        before = await email_count(services, order_id)
        dialogs = Dialogs(page, accept=False)
        await page.click("button:has-text('Resend email')")
        await page.wait_for_timeout(1000)
        assert dialogs.questions == ["Email the customer another link to their keys now?"]
        assert page.url == order_url
        assert await email_count(services, order_id) == before

        dialogs.accept = True
        await page.click("button:has-text('Resend email')")
        await page.wait_for_url(f"**/admin/orders/{order_id}/resend-email")
        assert len(dialogs.questions) == 2
        read_back = await page.inner_text("#read-back")
        assert read_back.startswith("Delivery reports: Email #2 sent, accepted by the mail server")
        assert await email_count(services, order_id) == before + 1
        await page.screenshot(path=str(tmp_path / "resend-desktop.png"), full_page=True)

        async def resend_told() -> bool:
            await page.goto(order_url)
            titles = await page.locator("#timeline > li .title").all_inner_texts()
            return "Key email (resent by an admin) accepted by mail server" in titles

        await wait_for(resend_told, "the resent email on the timeline")

        phone = await browser.new_page(viewport=viewport(PHONE))
        await log_in(phone, stack.admin, stack.admin_password, ADMIN_USER, stack.admin_totp_secret)
        await phone.goto(order_url)
        await phone.screenshot(path=str(tmp_path / "order-phone.png"), full_page=True)
        assert await horizontal_overflow(phone) == 0
        # The raw records, opened, wrap within the phone's width too.
        await phone.locator("#timeline details").first.wait_for()
        for toggle in await phone.locator("#timeline details > summary").all():
            await toggle.click()
        assert "payment_finished" in await phone.inner_text("#timeline")
        await phone.screenshot(path=str(tmp_path / "order-phone-raw.png"), full_page=True)
        assert await horizontal_overflow(phone) == 0


async def test_a_sold_out_order_says_why_and_what_to_do_and_its_retry_reads_back_the_saga(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        services = Services(http, stack)
        await catalog.seed_catalog(http, stack)
        _sku, _title, product_id, _price, _ceiling = catalog.CATALOG[1]
        faults = f"{stack.kinguin_sandbox}/sandbox/faults"
        (await http.post(faults, json={"out_of_stock": [product_id]})).raise_for_status()
        order_id, _email = await catalog.place_order(http, stack, 1)

        async def failed() -> bool:
            return await services.saga_state(order_id) == "failed"

        await wait_for(failed, "the sold-out order failing")
        (await http.post(faults, json={"out_of_stock": []})).raise_for_status()

        page = await browser.new_page(viewport=viewport(DESKTOP))
        await log_in(page, stack.admin, stack.admin_password, ADMIN_USER, stack.admin_totp_secret)
        await page.goto(f"{stack.admin}/admin/orders/{order_id}")
        summary = await page.inner_text("#summary")
        assert summary.startswith("Kinguin out of stock")
        assert "Failed at reservation: product_unavailable" in summary
        assert "Next step: Retry when stock returns" in summary
        titles = await page.locator("#timeline > li .title").all_inner_texts()
        assert len(titles) == len(set(titles)), titles
        assert any(t.startswith("Fulfillment failed: product_unavailable") for t in titles)
        await page.screenshot(path=str(tmp_path / "failed-desktop.png"), full_page=True)
        assert await horizontal_overflow(page) == 0

        phone = await browser.new_page(viewport=viewport(PHONE))
        await log_in(phone, stack.admin, stack.admin_password, ADMIN_USER, stack.admin_totp_secret)
        await phone.goto(f"{stack.admin}/admin/orders/{order_id}")
        await phone.screenshot(path=str(tmp_path / "failed-phone.png"), full_page=True)
        assert await horizontal_overflow(phone) == 0

        dialogs = Dialogs(page, accept=True)
        await page.click("button:has-text('Retry fulfillment')")
        await page.wait_for_url(f"**/admin/orders/{order_id}/retry")
        assert dialogs.questions[0].startswith("Retry this order's fulfillment now?")
        # Fulfillment asked again once the saga settled (or a few seconds passed).
        read_back = await page.inner_text("#read-back")
        assert read_back.startswith("Fulfillment reports: the order is"), read_back
        await page.screenshot(path=str(tmp_path / "retry-desktop.png"), full_page=True)
