"""What Kinguin's answers mean for us: a document, or an error of the right kind.

Three kinds of failure, because each calls for a different reaction:

- `KinguinRefused` (permanent): Kinguin will not do this for this order (a product out
  of stock, a price above our ceiling, too little balance). The order fails with the
  reason, `reservation.failed`.
- `KinguinAccessDenied` (permanent, but not the order's fault): Kinguin rejects our API
  key (401/403). Failing every order as "unavailable" would hide a configuration fault
  and retrying would hide it too; the message is parked at once with a reason naming
  the setting to fix, the reservation stays `placing`, and replaying the parked message
  once the key is fixed resumes it safely (it looks the order up first).
- `TransientError`: 429, 5xx, a network fault, an order not completed yet: later.
"""

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final

import httpx

from bitloot_runtime.errors import PermanentError, TransientError

# Kinguin's error kinds that retrying cannot fix; any other 4xx is refused as is.
PERMANENT_KINDS: Final = frozenset(
    {
        "ProductUnavailable",
        "InsufficientBalance",
        "OrderFailed",
        "ConstraintViolation",
        "OrderLimitExceeded",
        "InvalidRequest",
        # api/ErrorsCodes.md: a key return Kinguin will not make for this order.
        "NoKeysToReturn",
    }
)
# Kinguin asks to wait; never sleep longer than this inside one message's handling.
MAX_RETRY_AFTER: Final = 30.0
ACCESS_DENIED: Final = "kinguin_access_denied"


class KinguinRefused(PermanentError):
    """Kinguin refused the call for good (`code` is its error kind in snake_case)."""


class KinguinAccessDenied(PermanentError):
    """Kinguin rejected our API key: an operator must fix the configuration."""

    def __init__(self, method: str, path: str, status: int) -> None:
        super().__init__(
            ACCESS_DENIED,
            f"Kinguin answered {status} to {method} {path}: the API key is wrong, revoked or "
            "lacks permission. Fix KINGUIN_GATEWAY_KINGUIN_API_KEY, then replay the parked "
            "messages; reservations wait in state 'placing' and are looked up before buying.",
        )


class KinguinBusy(TransientError):
    """Kinguin throttled us (429) or failed (5xx); `retry_after` is its hint, if any."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def snake_case(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def result(method: str, path: str, response: httpx.Response) -> Any:
    """The answer's JSON document, or the error it stands for."""
    status = response.status_code
    if status in (401, 403):
        raise KinguinAccessDenied(method, path, status)
    if status == 429 or status >= 500:
        raise KinguinBusy(f"Kinguin {method} {path} answered {status}.", retry_after(response))
    try:
        document = response.json()
    except ValueError:
        raise TransientError(f"Kinguin {method} {path} answered {status}, not JSON.") from None
    if status < 300:
        return document
    raise refusal(method, path, status, document)


def refusal(method: str, path: str, status: int, document: object) -> Exception:
    """The error for a 4xx with Kinguin's body ``{kind | code, status, title, detail}``."""
    fields = document if isinstance(document, dict) else {}
    kind = fields.get("kind") or fields.get("code")
    if kind == "OrderNotCompleted":
        return TransientError(f"Kinguin {method} {path}: the order is not completed yet.")
    detail = fields.get("detail") or fields.get("title") or "no detail"
    reason = f"Kinguin refused {method} {path} ({status}): {detail}"
    if kind in PERMANENT_KINDS:
        return KinguinRefused(snake_case(str(kind)), reason)
    if status == 404:
        return KinguinRefused("kinguin_not_found", reason)
    return KinguinRefused("kinguin_rejected", reason)


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (either form: seconds or an HTTP date), capped."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
