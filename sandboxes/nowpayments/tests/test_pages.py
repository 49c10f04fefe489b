from nowpayments_harness import Sandbox, create_invoice


async def test_pay_page_offers_a_form_to_pay(sandbox: Sandbox) -> None:
    invoice = await create_invoice(sandbox)

    page = await sandbox.client.get(str(invoice["invoice_url"]))

    assert page.status_code == 200
    assert f'action="/invoice/{invoice["id"]}/pay"' in page.text


async def test_paying_by_form_redirects_to_the_shop_and_sends_ipns(sandbox: Sandbox) -> None:
    invoice = await create_invoice(sandbox)

    paid = await sandbox.client.post(
        f"/invoice/{invoice['id']}/pay", data={"outcome": "finished", "pay_currency": "btc"}
    )
    await sandbox.state.idle()

    assert paid.status_code == 303
    assert paid.headers["location"] == "http://shop.test/ok"
    assert len(sandbox.receiver.received) == 4
    payment = sandbox.state.store.invoices[int(str(invoice["id"]))].payments[0]
    assert payment.pay_currency == "btc"


async def test_unknown_invoice_page_is_not_found(sandbox: Sandbox) -> None:
    assert (await sandbox.client.get("/invoice/123")).status_code == 404
