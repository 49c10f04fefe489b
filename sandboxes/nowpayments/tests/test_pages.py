from nowpayments_harness import Sandbox, create_invoice


async def test_pay_page_offers_a_form_to_pay_and_a_way_to_cancel(sandbox: Sandbox) -> None:
    invoice = await create_invoice(sandbox)

    page = await sandbox.client.get(str(invoice["invoice_url"]))

    assert page.status_code == 200
    assert f'action="/invoice/{invoice["id"]}/pay"' in page.text
    assert '<a id="cancel" href="http://shop.test/cancel">' in page.text


async def test_paying_by_form_sends_ipns_and_links_back_to_the_shop(sandbox: Sandbox) -> None:
    invoice = await create_invoice(sandbox)

    paid = await sandbox.client.post(
        f"/invoice/{invoice['id']}/pay", data={"outcome": "finished", "pay_currency": "btc"}
    )
    await sandbox.state.idle()

    assert paid.status_code == 200
    assert '<a id="back" href="http://shop.test/ok">' in paid.text
    assert len(sandbox.receiver.received) == 4
    payment = sandbox.state.store.invoices[int(str(invoice["id"]))].payments[0]
    assert payment.pay_currency == "btc"
    assert str(payment.payment_id) in paid.text


async def test_a_failed_payment_links_to_the_cancel_url(sandbox: Sandbox) -> None:
    invoice = await create_invoice(sandbox)

    paid = await sandbox.client.post(f"/invoice/{invoice['id']}/pay", data={"outcome": "failed"})

    assert '<a id="back" href="http://shop.test/cancel">' in paid.text


async def test_a_page_without_a_shop_url_or_with_a_script_url_links_nowhere(
    sandbox: Sandbox,
) -> None:
    invoice = await create_invoice(
        sandbox, success_url=None, cancel_url="javascript:alert(1)", partially_paid_url=None
    )

    page = await sandbox.client.get(str(invoice["invoice_url"]))
    paid = await sandbox.client.post(f"/invoice/{invoice['id']}/pay", data={"outcome": "finished"})

    assert "javascript:" not in page.text
    assert 'id="back"' not in paid.text


async def test_unknown_invoice_page_is_not_found(sandbox: Sandbox) -> None:
    assert (await sandbox.client.get("/invoice/123")).status_code == 404
