"""What the refund claim page shows: the form for a refund that is due, and, for one
that is not, where it stands in the customer's words. Every value is HTML-escaped."""

import html
from typing import Any

from starlette.responses import HTMLResponse

from bitloot_payments.adapters.refunds import Refund
from bitloot_payments.domain import refunds as rules
from bitloot_payments.domain.payout_address import EXTRA_IDS, MAX_LENGTH, AddressRefused
from bitloot_payments.entrypoints.views import money
from bitloot_runtime.pages import page

# A refund no longer open to a claim, by the status it is in (or the refusal's code).
CLOSED: dict[str, tuple[str, str]] = {
    "already_claimed": (
        "Already claimed",
        "This refund was already claimed. We check each claim, then send the money to the "
        "address given; you will get an email when it is sent.",
    ),
    "refund_closed": ("Refund closed", "This refund can no longer be claimed."),
    rules.CLAIMED: (
        "Refund claimed",
        "Thank you. We check each claim, then send the money to the address you gave; you "
        "will get an email with the transaction id when it is sent.",
    ),
    rules.APPROVED: ("Refund approved", "Your refund was approved and will be sent shortly."),
    rules.SENDING: ("Refund on its way", "Your refund is being sent."),
    rules.SENT: ("Refunded", "Your refund was sent."),
    rules.REFUNDED_OUTSIDE: ("Refunded", "Your refund was paid back to you directly."),
    rules.FAILED: (
        "Refund delayed",
        "Sending your refund failed. We are looking into it and will contact you.",
    ),
    rules.REJECTED: ("Refund declined", "This refund was declined. Please contact support."),
    rules.CANCELED: (
        "Nothing to refund",
        "Your order was fulfilled after all, so there is nothing to refund: your keys are "
        "in the email we sent you.",
    ),
}


def refund_json(refund: Refund) -> dict[str, Any]:
    """The refund as the claim page's JSON clients see it (no payout address)."""
    extra = EXTRA_IDS.get(refund.currency.lower())
    return {
        "refund_id": refund.id,
        "order_id": str(refund.order_id),
        "status": refund.status,
        "amount": money(refund.amount),
        "currency": refund.currency,
        "reason": refund.reason,
        "reason_text": rules.reason_in_customer_words(refund.reason),
        "extra_id": {"name": extra.name, "required": extra.required} if extra else None,
        "transaction_id": refund.transaction_id,
    }


def _summary(refund: Refund) -> str:
    amount = f"{money(refund.amount)} {refund.currency.upper()}"
    return (
        f"<p>Order <code>{html.escape(str(refund.order_id))}</code></p>\n"
        f"<p>{html.escape(rules.reason_in_customer_words(refund.reason))}</p>\n"
        f"<p>Refund: <strong>{html.escape(amount)}</strong></p>\n"
    )


def _field(name: str, label: str, value: str, *, required: bool) -> str:
    return (
        f'<label>{html.escape(label)}<input name="{name}" value="{html.escape(value, quote=True)}" '
        f'maxlength="{MAX_LENGTH}" autocomplete="off" spellcheck="false"'
        f"{' required' if required else ''}></label>\n"
    )


def form_page(
    refund: Refund,
    token: str,
    *,
    form: dict[str, str] | None = None,
    error: AddressRefused | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The claim form, with what the customer typed and what is wrong with it, if any."""
    form = form or {}
    currency = refund.currency.lower()
    extra = EXTRA_IDS.get(currency)
    problem = (
        f'<p role="alert"><strong>{html.escape(str(error))}</strong> '
        f"<small>({html.escape(error.code)})</small></p>\n"
        if error
        else ""
    )
    fields = _field(
        "address", f"Your {currency.upper()} address", form.get("address", ""), required=True
    )
    if extra is not None:
        label = f"{extra.name.capitalize()} ({'required' if extra.required else 'optional'})"
        fields += _field("extra_id", label, form.get("extra_id", ""), required=extra.required)
    body = (
        _summary(refund)
        + "<p>Tell us where to send it. Check the address: a payment cannot be undone.</p>\n"
        + problem
        + '<form method="post" action="/refunds/claim">\n'
        + f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">\n'
        + fields
        + '<button type="submit">Claim my refund</button>\n</form>\n'
    )
    return page("Claim your refund", body, status)


def closed_page(refund: Refund, status: int = 200) -> HTMLResponse:
    """Where a refund that is not (or no longer) open to a claim stands."""
    title, text = CLOSED.get(refund.status, ("Refund", "Please contact support."))
    body = _summary(refund) + f"<p>{html.escape(text)}</p>\n"
    if refund.transaction_id:
        body += f"<p>Transaction <code>{html.escape(refund.transaction_id)}</code></p>\n"
    return page(title, body, status)
