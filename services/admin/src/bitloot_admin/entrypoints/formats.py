"""How the admin's pages show times, numbers, statuses and column names: one set of
Jinja filters, registered on the templates (`install`) and used by every template that
shows them, so that no page prints a timestamp to the microsecond, a count as ``0.0`` or
a snake_case header (issue #21, point 2).

Every filter returns escaped markup or plain text: a value a service sent never reaches
the page unescaped."""

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from jinja2 import Environment
from markupsafe import Markup, escape

# Column names that read badly once the underscores are gone ("Kinguin order id" is
# fine; "Pay amount" is not). Any other name becomes its words, capitalised.
LABELS: Final[Mapping[str, str]] = {
    "id": "#",
    "order_id": "Order",
    "payment_id": "Payment",
    "ipn_id": "IPN",
    "flag_id": "Flag",
    "refund_id": "Refund",
    "reservation_id": "Reservation",
    "kinguin_order_id": "Kinguin order",
    "price_amount": "Price",
    "pay_amount": "Asked",
    "actually_paid": "Paid",
    "created_at": "Created",
    "updated_at": "Updated",
    "received_at": "Received",
    "processed_at": "Processed",
    "resolved_at": "Resolved",
    "kinguin_updated_at": "Kinguin updated",
    "signature_valid": "Signed",
    "keys_count": "Keys",
    "failure_reason": "Failure",
    "lines": "Products",
    "event_name": "Event",
    "order_external_id": "External id",
    "state_since": "In state since",
    "last_error": "Last error",
}

_UNITS: Final = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"))


def label(name: str) -> str:
    """A field's name as a column header: ``created_at`` → ``Created``."""
    return LABELS.get(name) or name.replace("_", " ").strip().capitalize()


def as_datetime(value: object) -> datetime | None:
    """`value` as an aware datetime (UTC if it said no zone): a datetime, or an ISO 8601
    string as the services send; None for anything else."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utc(value: object) -> str:
    """The exact time in UTC to the second: ``2026-12-06 01:02:03 UTC``; "—" for none."""
    moment = as_datetime(value)
    if moment is None:
        return "—" if value is None else str(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative(value: object, now: datetime | None = None) -> str:
    """How long ago (or how soon) `value` is: ``just now``, ``42 s ago``, ``3 min ago``,
    ``5 h ago``, ``2 d ago``, ``in 3 min``; past 30 days the date itself."""
    moment = as_datetime(value)
    if moment is None:
        return "—" if value is None else str(value)
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if abs(seconds) < 5:
        return "just now"
    if abs(seconds) >= 30 * 86400:
        return moment.astimezone(UTC).strftime("%Y-%m-%d")
    size, unit = next((size, unit) for size, unit in _UNITS if abs(seconds) >= size)
    amount = f"{int(abs(seconds) // size)} {unit}"
    return f"{amount} ago" if seconds > 0 else f"in {amount}"


def ago(value: object, now: datetime | None = None) -> Markup:
    """`relative` inside ``<time>``, with the exact UTC time on hover (``title``) and for
    machines (``datetime``); "—" for none, and a value that is no time as it came."""
    moment = as_datetime(value)
    if moment is None:
        return escape("—" if value is None else str(value))
    exact = moment.astimezone(UTC)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        exact.strftime("%Y-%m-%dT%H:%M:%SZ"), utc(exact), relative(exact, now)
    )


def count(value: object) -> str:
    """A count as a whole number with thousands separators (``1,234``; ``0.0`` → ``0``)."""
    number = _decimal(value)
    if number is None:
        return "—" if value is None else str(value)
    return f"{int(number):,}"


def amount(value: object, currency: object = None) -> str:
    """A sum of money with 2 to 8 decimals (as many as it has, trailing zeros beyond two
    dropped, rounded at eight) and its currency in capitals: ``12.50 USD``,
    ``0.00012346 BTC``; "—" for none."""
    number = _decimal(value)
    if number is None:
        return "—" if value is None else str(value)
    rounded = number.quantize(Decimal("0.00000001"))
    text = f"{rounded:,f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    text = f"{whole}.{decimals.ljust(2, '0')}"
    return f"{text} {str(currency).upper()}" if currency else text


def chip(value: object) -> Markup:
    """A status as a chip: ``<span class="status status-failed">failed</span>``, its
    words without underscores; "—" for none."""
    if value is None or value == "":
        return Markup('<span class="status status-none">—</span>')
    text = str(value)
    css = "".join(c if c.isalnum() or c in "_-" else "-" for c in text)[:40]
    return Markup('<span class="status status-{}">{}</span>').format(css, text.replace("_", " "))


def pairs(value: object) -> str:
    """A small object as ``name: value`` pairs (``via: cli, known: yes``) instead of JSON;
    "—" for none or an empty one, anything else as JSON."""
    if not value:
        return "—"
    if not isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return ", ".join(f"{label(str(key)).lower()}: {_word(item)}" for key, item in value.items())


def _word(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def install(environment: Environment) -> Environment:
    """`environment` with the filters every admin template uses."""
    environment.filters.update(
        {
            "ago": ago,
            "utc": utc,
            "relative": relative,
            "count": count,
            "amount": amount,
            "chip": chip,
            "label": label,
            "pairs": pairs,
        }
    )
    return environment
