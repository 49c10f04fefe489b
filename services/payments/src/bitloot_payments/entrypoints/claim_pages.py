"""What the refund claim pages show: the form for a refund that is due, for one that is
not where it stands in the customer's words, and the refusals; rendered from Jinja2
templates (``templates/claim_*.html``) on the order page's base layout, so every value
is HTML-escaped."""

from dataclasses import dataclass
from typing import Any

import pydantic
from pydantic import BaseModel
from starlette.responses import HTMLResponse

from bitloot_payments.domain import refunds as rules
from bitloot_payments.domain.payout_address import EXTRA_IDS, MAX_LENGTH, AddressRefused
from bitloot_payments.domain.records import Refund
from bitloot_payments.entrypoints.customer_pages import TEMPLATES, order_number
from bitloot_payments.entrypoints.views import money
from bitloot_runtime.pages import SECURITY_HEADERS

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


class ExtraIdView(BaseModel):
    name: str  # what the currency calls it: memo, destination tag
    required: bool


class ClaimView(BaseModel):
    """The refund as the claim page's JSON clients see it (no payout address)."""

    refund_id: int
    order_id: str
    status: str
    amount: str
    currency: str
    reason: str
    reason_text: str
    extra_id: ExtraIdView | None  # for a currency whose payouts take one
    transaction_id: str | None


def refund_json(refund: Refund) -> dict[str, Any]:
    """`ClaimView` of `refund`, as JSON."""
    extra = EXTRA_IDS.get(refund.currency.lower())
    return ClaimView(
        refund_id=refund.id,
        order_id=str(refund.order_id),
        status=refund.status,
        amount=money(refund.amount),
        currency=refund.currency,
        reason=refund.reason,
        reason_text=rules.reason_in_customer_words(refund.reason),
        extra_id=ExtraIdView(name=extra.name, required=extra.required) if extra else None,
        transaction_id=refund.transaction_id,
    ).model_dump(mode="json")


class LinkRequested(BaseModel):
    """A new claim link is on its way to the order's email address."""

    refund_id: int
    status: str  # link_requested
    message: str


class ClaimForm(BaseModel):
    token: str = pydantic.Field(description="The claim link's token.")
    address: str = pydantic.Field("", max_length=MAX_LENGTH)
    extra_id: str | None = pydantic.Field(
        None,
        max_length=MAX_LENGTH,
        description="Memo / destination tag, for currencies that have one.",
    )


class NewLinkForm(BaseModel):
    token: str = pydantic.Field(description="The expired claim link's token.")


# The tone of each closed state's status block (the order page's colours).
TONES: dict[str, str] = {
    "already_claimed": "money",
    "refund_closed": "problem",
    rules.CLAIMED: "money",
    rules.APPROVED: "money",
    rules.SENDING: "progress",
    rules.SENT: "done",
    rules.REFUNDED_OUTSIDE: "done",
    rules.FAILED: "problem",
    rules.REJECTED: "problem",
    rules.CANCELED: "done",
}


@dataclass(frozen=True)
class Field:
    """One input of the claim form, with what the customer typed into it."""

    name: str
    label: str
    hint: str
    value: str
    required: bool


class ClaimPages:
    """Renders the claim pages from the customer pages' templates (`customer_pages`),
    each naming `support_email` as whom to ask."""

    def __init__(self, support_email: str) -> None:
        self._support_email = support_email

    def _render(
        self, name: str, status: int, headers: dict[str, str] | None = None, **context: Any
    ) -> HTMLResponse:
        html = TEMPLATES.get_template(name).render(support_email=self._support_email, **context)
        return HTMLResponse(
            html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
        )

    @staticmethod
    def _refund(refund: Refund) -> dict[str, Any]:
        """What the pages say of a refund: its order, amount and why, in customer words."""
        currency = refund.currency.upper()
        return {
            "number": order_number(refund.order_id),
            "order_id": str(refund.order_id),
            "amount": f"{money(refund.amount)} {currency}",
            "currency": currency,
            "reason": rules.reason_in_customer_words(refund.reason),
        }

    def form(
        self,
        refund: Refund,
        token: str,
        *,
        form: dict[str, str] | None = None,
        error: AddressRefused | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        """The claim form, with what the customer typed and what is wrong with it, if any."""
        form = form or {}
        currency = refund.currency.upper()
        fields = [
            Field(
                "address",
                f"Your {currency} address",
                f"Paste it from the wallet that should receive the {currency}.",
                form.get("address", ""),
                required=True,
            )
        ]
        extra = EXTRA_IDS.get(refund.currency.lower())
        if extra is not None:
            label = f"{extra.name.capitalize()} ({'required' if extra.required else 'optional'})"
            hint = f"The {extra.name} your wallet or exchange gave you with the address."
            fields.append(Field("extra_id", label, hint, form.get("extra_id", ""), extra.required))
        problem = None
        if error is not None:
            field = "extra_id" if error.code.startswith("extra_id") else "address"
            problem = {"text": str(error), "code": error.code, "field": field}
        return self._render(
            "claim_form.html",
            status,
            title="Claim your refund",
            heading="Claim your refund",
            token=token,
            fields=fields,
            error=problem,
            max_length=MAX_LENGTH,
            **self._refund(refund),
        )

    def closed(self, refund: Refund, status: int = 200) -> HTMLResponse:
        """Where a refund that is not (or no longer) open to a claim stands."""
        title, text = CLOSED.get(refund.status, ("Refund", "Please contact support."))
        return self._render(
            "claim_closed.html",
            status,
            title=title,
            heading="Your refund",
            text=text,
            tone=TONES.get(refund.status, "problem"),
            transaction_id=refund.transaction_id,
            **self._refund(refund),
        )

    def message(
        self,
        title: str,
        text: str,
        status: int,
        *,
        tone: str = "problem",
        new_link_token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """A page with no refund to show (a refused or expired link, a new link on its
        way, too many tries); `new_link_token` offers the form asking for a new link."""
        return self._render(
            "claim_message.html",
            status,
            headers,
            title=title,
            heading=title,
            text=text,
            tone=tone,
            new_link_token=new_link_token,
            number=None,
        )
