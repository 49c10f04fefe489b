"""The claim pages' templates escape every value that comes from outside the page: what
the customer typed, the payout provider's transaction id, the refund's currency and the
link's token. Parsed as a browser would, a hostile value is text, never markup."""

from decimal import Decimal
from html.parser import HTMLParser
from uuid import UUID

from starlette.responses import HTMLResponse

from bitloot_payments.domain.payout_address import AddressRefused
from bitloot_payments.domain.records import Refund
from bitloot_payments.entrypoints.claim_pages import ClaimPages

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
ORDER = UUID("3f2b8c1e-5d4a-4e7b-9c1f-0a2b3c4d5e6f")
PAGES = ClaimPages("support@bitloot.test")


class Elements(HTMLParser):
    """The elements of a page, and every attribute they carry."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text += data


def assert_inert(answer: HTMLResponse) -> Elements:
    elements = Elements()
    elements.feed(bytes(answer.body).decode())
    assert "script" not in elements.tags
    assert "img" not in elements.tags
    assert not [name for name, _ in elements.attributes if name.startswith("on")]
    return elements


def refund(**changes: object) -> Refund:
    values: dict[str, object] = {
        "order_id": ORDER,
        "amount": Decimal("24.99"),
        "currency": "xrp",
        "reason": "sold_out",
        "requested_by": "system",
        "id": 7,
    }
    return Refund(**{**values, **changes})  # type: ignore[arg-type]


def test_what_the_customer_typed_and_the_token_stay_values_of_their_fields() -> None:
    typed = {"address": HOSTILE, "extra_id": HOSTILE}
    error = AddressRefused("address_invalid", "This is not an XRP address.")
    answer = PAGES.form(refund(), HOSTILE, form=typed, error=error, status=422)
    elements = assert_inert(answer)
    values = [value for name, value in elements.attributes if name == "value"]
    # The token (hidden), the address and the extra id: each exactly as typed.
    assert values == [HOSTILE, HOSTILE, HOSTILE]
    assert "3F2B8C1E" in elements.text
    assert "24.99 XRP" in elements.text


def test_a_transaction_id_and_a_currency_from_outside_are_shown_as_text() -> None:
    sent = refund(status="sent", currency=HOSTILE, transaction_id=HOSTILE)
    elements = assert_inert(PAGES.closed(sent))
    assert HOSTILE in elements.text
    assert HOSTILE.upper() in elements.text  # the currency, as the customer reads it
    assert "Your refund was sent." in elements.text


def test_an_expired_links_token_is_the_value_of_the_new_link_form() -> None:
    answer = PAGES.message(
        "Link expired", "This refund link has expired.", 410, new_link_token=HOSTILE
    )
    elements = assert_inert(answer)
    assert ("value", HOSTILE) in elements.attributes
    assert ("href", "mailto:support@bitloot.test") in elements.attributes
