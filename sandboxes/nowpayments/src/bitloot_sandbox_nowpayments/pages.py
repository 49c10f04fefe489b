"""The hosted invoice page a buyer pays on (``invoice_url``).

The page pays the invoice with the outcome the buyer picks, then links back to the shop
as documented: `success_url` after a finished payment, `partially_paid_url` after a
partial one, `cancel_url` after a failed or expired one; "Cancel" (no payment) links to
`cancel_url`. A URL that is not http(s) is never linked.
"""

from html import escape
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bitloot_sandbox_nowpayments.endpoint import sandbox_of
from bitloot_sandbox_nowpayments.store import RATES, SEQUENCES, Invoice

HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>NOWPayments sandbox - invoice {id}</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}</style></head>
<body><h1>NOWPayments sandbox</h1>
"""
PAGE = (
    HEAD
    + """<p>Invoice <b>{id}</b>: {amount} {currency}<br>{description}</p>
<form method="post" action="/invoice/{id}/pay">
<label>Pay with <select name="pay_currency">{currencies}</select></label><br><br>
<label>Outcome <select name="outcome">{outcomes}</select></label><br><br>
<button type="submit">Pay</button></form>
{cancel}<p>{paid}</p></body></html>
"""
)
PAID = (
    HEAD
    + """<p>Invoice <b>{id}</b>: payment <b>{payment}</b> sent.</p>
<p>Outcome: {outcome}</p>
{back}</body></html>
"""
)


def _options(values: list[str], selected: str) -> str:
    return "".join(
        f'<option value="{escape(v)}"{" selected" if v == selected else ""}>{escape(v)}</option>'
        for v in values
    )


def _link(url: str | None, text: str, element_id: str) -> str:
    """A paragraph linking to `url`; nothing when there is none or it is not http(s)."""
    if not url or urlsplit(url).scheme.lower() not in ("http", "https"):
        return ""
    return f'<p><a id="{element_id}" href="{escape(url)}">{escape(text)}</a></p>\n'


def _invoice(request: Request) -> Invoice | None:
    raw = request.path_params["invoice_id"]
    return sandbox_of(request).store.invoices.get(int(raw)) if raw.isdigit() else None


async def invoice_page(request: Request) -> Response:
    """``GET /invoice/{id}``: the invoice with a form to pay it and a way to cancel."""
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
            cancel=_link(invoice.cancel_url, "Cancel and return to the shop", "cancel"),
            paid=escape(paid),
        )
    )


async def pay_invoice(request: Request) -> Response:
    """``POST /invoice/{id}/pay`` (a form): pay, then link back to the shop."""
    invoice = _invoice(request)
    if invoice is None:
        return HTMLResponse("<h1>Invoice not found</h1>", status_code=404)
    form = parse_qs((await request.body()).decode(errors="replace"))
    outcome = form.get("outcome", ["finished"])[0]
    currency = form.get("pay_currency", [""])[0] or None
    if outcome not in SEQUENCES or (currency is not None and currency not in RATES):
        return HTMLResponse("<h1>Unknown outcome or currency</h1>", status_code=400)
    payment = sandbox_of(request).pay(invoice, outcome, currency)
    return HTMLResponse(
        PAID.format(
            id=invoice.id,
            payment=payment.payment_id,
            outcome=escape(outcome),
            back=_link(invoice.shop_url(outcome), "Return to the shop", "back"),
        )
    )


routes = [
    Route("/invoice/{invoice_id}", invoice_page, methods=["GET"]),
    Route("/invoice/{invoice_id}/pay", pay_invoice, methods=["POST"]),
]
