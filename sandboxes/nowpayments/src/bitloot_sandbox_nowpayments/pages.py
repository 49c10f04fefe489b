"""The hosted invoice page a buyer pays on (``invoice_url``)."""

from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bitloot_sandbox_nowpayments.endpoint import sandbox_of
from bitloot_sandbox_nowpayments.store import RATES, SEQUENCES, Invoice

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>NOWPayments sandbox - invoice {id}</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}</style></head>
<body><h1>NOWPayments sandbox</h1>
<p>Invoice <b>{id}</b>: {amount} {currency}<br>{description}</p>
<form method="post" action="/invoice/{id}/pay">
<label>Pay with <select name="pay_currency">{currencies}</select></label><br><br>
<label>Outcome <select name="outcome">{outcomes}</select></label><br><br>
<button type="submit">Pay</button></form>
<p>{paid}</p></body></html>
"""


def _options(values: list[str], selected: str) -> str:
    return "".join(
        f'<option value="{escape(v)}"{" selected" if v == selected else ""}>{escape(v)}</option>'
        for v in values
    )


def _invoice(request: Request) -> Invoice | None:
    raw = request.path_params["invoice_id"]
    return sandbox_of(request).store.invoices.get(int(raw)) if raw.isdigit() else None


async def invoice_page(request: Request) -> Response:
    """``GET /invoice/{id}``: the invoice with a form to pay it."""
    invoice = _invoice(request)
    if invoice is None:
        return HTMLResponse("<h1>Invoice not found</h1>", status_code=404)
    default = invoice.pay_currency or sandbox_of(request).config.default_pay_currency
    paid = ", ".join(f"payment {p.payment_id}: {p.payment_status}" for p in invoice.payments)
    return HTMLResponse(
        PAGE.format(
            id=invoice.id,
            amount=escape(str(invoice.price_amount)),
            currency=escape(invoice.price_currency.upper()),
            description=escape(invoice.order_description or ""),
            currencies=_options(list(RATES), default),
            outcomes=_options(list(SEQUENCES), "finished"),
            paid=escape(paid),
        )
    )


async def pay_invoice(request: Request) -> Response:
    """``POST /invoice/{id}/pay`` (a form): pay, then go to the shop's success/cancel URL."""
    invoice = _invoice(request)
    if invoice is None:
        return HTMLResponse("<h1>Invoice not found</h1>", status_code=404)
    form = parse_qs((await request.body()).decode(errors="replace"))
    outcome = form.get("outcome", ["finished"])[0]
    currency = form.get("pay_currency", [""])[0] or None
    if outcome not in SEQUENCES or (currency is not None and currency not in RATES):
        return HTMLResponse("<h1>Unknown outcome or currency</h1>", status_code=400)
    payment = sandbox_of(request).pay(invoice, outcome, currency)
    target = invoice.success_url if outcome == "finished" else invoice.cancel_url
    if target:
        return RedirectResponse(target, status_code=303)
    return HTMLResponse(f"<h1>Payment {payment.payment_id} sent</h1><p>Outcome: {outcome}</p>")


routes = [
    Route("/invoice/{invoice_id}", invoice_page, methods=["GET"]),
    Route("/invoice/{invoice_id}/pay", pay_invoice, methods=["POST"]),
]
