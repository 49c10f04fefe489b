"""Asking before a form that moves money or reaches the customer. The admin's pages run
no script at all (their Content-Security-Policy) but the exact inline handlers written
here, allowed by their hashes ('unsafe-hashes'), so a form may ask with `confirm()` and
nothing else can run. The server never relies on the question: an API client, or a
browser without script, acts without it."""

import base64
import hashlib
import json

from bitloot_admin.domain import refunds
from bitloot_admin.domain.flags import DECISIONS


def _handler(question: str) -> str:
    return f"return confirm({json.dumps(question)})"


# The `onsubmit` of each decision that asks first, by the decision's name.
ONSUBMIT: dict[str, str] = {
    decision.name: _handler(decision.confirm)
    for decision in DECISIONS.values()
    if decision.confirm is not None
}
ONSUBMIT["deliver_keys"] = _handler(
    "Send these keys to the customer? This can be done once for an order and cannot be undone."
)

# The order page's repairs reach the customer: each asks (entrypoints.pages.repairs_for).
ONSUBMIT["repair:retry"] = _handler(
    "Retry this order's fulfillment now? Kinguin may be asked again (never to buy twice) "
    "and the keys sent to the customer."
)
ONSUBMIT["repair:resend-email"] = _handler("Email the customer another link to their keys now?")
ONSUBMIT["repair:link"] = _handler(
    "Issue a fresh link to this order's keys? Whoever holds it can reveal them until it "
    "expires; it is audited."
)
# Replaying an IPN applies a payment again: it may mark the order paid and fulfil it.
ONSUBMIT["ipn-replay"] = _handler(
    "Apply this IPN again? If it says the payment finished, the order is paid and the "
    "customer's keys are bought and sent."
)

# A refund's decisions, refunding an unrevealed order and resending a notice all ask.
ONSUBMIT.update({f"refund:{name}": _handler(d.confirm) for name, d in refunds.DECISIONS.items()})
ONSUBMIT["refund-unrevealed"] = _handler(refunds.REFUND_UNREVEALED_CONFIRM)
ONSUBMIT.update({f"notice:{kind}": _handler(n.confirm) for kind, n in refunds.NOTICES.items()})


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


SCRIPT_SRC = " ".join(["script-src 'unsafe-hashes'", *(_hash(h) for h in ONSUBMIT.values())])
