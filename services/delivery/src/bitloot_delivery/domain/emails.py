"""The customer's email: a reveal link and nothing else (never a key), when to try
again after the mail server refused it, and what to do with an attempt cut short.

Every email keeps one Message-ID across its attempts, chosen before the first one, so
that the email log names exactly the message the mail server accepted, and so that the
one resend of an attempt cut during DATA is a copy mail systems recognise as the same
message.
"""

from datetime import timedelta
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import default
from email.utils import make_msgid
from enum import Enum, StrEnum
from uuid import UUID

from bitloot_delivery.domain.summaries import OrderSummary
from bitloot_delivery.templates import render

MAX_ATTEMPTS = 8
# How many times an email cut off during DATA is sent again (with its Message-ID).
DOUBTFUL_RESENDS = 1
_FIRST_RETRY = timedelta(seconds=5)
_LONGEST_RETRY = timedelta(minutes=30)

SUBJECT = "Your BitLoot keys are ready"
FRESH_SUBJECT = "A new link to your BitLoot keys"


class EmailKind(StrEnum):
    """`delivery`: the one email per order; `resend`: an admin asked for another;
    `fresh_link`: the customer asked from an expired link's page; `delayed`: the one
    notice that the keys are late or wait for a preorder's release (no link: there may be
    no keys yet); `refund_due`, `refund_sent`, `claim_link`: the refund emails (see
    domain/refund_notices.py), never a key."""

    DELIVERY = "delivery"
    RESEND = "resend"
    FRESH_LINK = "fresh_link"
    DELAYED = "delayed"
    REFUND_DUE = "refund_due"
    REFUND_SENT = "refund_sent"
    CLAIM_LINK = "claim_link"


KIND_HEADER = "X-BitLoot-Email"
"""Every email says its kind in this header, so a mail system (or a test's inbox) can
tell a key email from a notice without reading the words, which may change."""

KEY_KINDS = frozenset({EmailKind.DELIVERY, EmailKind.RESEND, EmailKind.FRESH_LINK})
"""The kinds that carry a link to the keys."""
RESENDABLE = (EmailKind.REFUND_DUE, EmailKind.REFUND_SENT, EmailKind.DELAYED)
"""The notices an admin may send again."""


class EmailStatus(StrEnum):
    """`sending` while an attempt is under way; `unconfirmed` when an attempt was cut off
    during DATA after the one resend of an earlier such attempt (see `after_cut`), so
    nobody knows whether the mail server took it: never repeated automatically, shown to
    admins, who may resend; `superseded`: a delay notice still waiting to go out when the
    keys arrived, so never sent (the keys email says more)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    SUPERSEDED = "superseded"
    # A key email still waiting to go out when an admin revoked the order's keys.
    WITHDRAWN = "withdrawn"


class SmtpStage(StrEnum):
    """How far the attempt under way got, as committed in its row: `before_data` from its
    claim (connect, EHLO, MAIL FROM, RCPT: the server cannot have the message yet);
    `data` is committed just before the DATA command, which is not sent unless that
    commit succeeded, so a row still `before_data` proves the server does not have it."""

    BEFORE_DATA = "before_data"
    DATA = "data"


class AfterCut(Enum):
    """What becomes of an attempt cut short (its sender died, or lost the connection)."""

    RESEND = "resend"  # the server surely lacks it: send again now, same Message-ID
    RESEND_ONCE = "resend_once"  # it may have it: once more, after the lease, same ID
    UNCONFIRMED = "unconfirmed"  # doubtful again: never again by itself, for an admin


def after_cut(stage: SmtpStage | None, doubtful_resends: int) -> AfterCut:
    """The rule for an attempt cut short at `stage` (None: claimed by a sender that did
    not record stages, so DATA may have begun). Before DATA nothing reached the server.
    Cut during DATA, the email is sent once more with the same Message-ID (mail systems
    collapse such duplicates) rather than risk a customer with no email; cut during DATA
    again, it is left unconfirmed rather than risk a third copy."""
    if stage is SmtpStage.BEFORE_DATA:
        return AfterCut.RESEND
    if doubtful_resends < DOUBTFUL_RESENDS:
        return AfterCut.RESEND_ONCE
    return AfterCut.UNCONFIRMED


def new_message_id(sender: str) -> str:
    """A globally unique Message-ID in the sender's domain."""
    return make_msgid(domain=sender.rpartition("@")[2] or "bitloot.invalid")


def compose(
    *,
    sender: str,
    to: str,
    link: str,
    ttl_minutes: float,
    kind: EmailKind,
    message_id: str,
    order_id: UUID,
    summary: OrderSummary | None,
    support_email: str,
) -> EmailMessage:
    """The email carrying `link`, as text and as HTML: the order number, and with the
    order's `summary` (None if delivery has none: it then names the order only) its
    products and amount, how long the link works, and whom to write to."""
    subject = SUBJECT if kind is EmailKind.DELIVERY else FRESH_SUBJECT
    context = {
        "subject": subject,
        "fresh": kind is not EmailKind.DELIVERY,
        "order_id": order_id,
        "summary": summary,
        "link": link,
        "lifetime": lifetime(ttl_minutes),
        "support_email": support_email,
    }
    message = new_message()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(render("key_email.txt", **context))
    message.add_alternative(render("key_email.html", **context), subtype="html")
    return message


def lifetime(minutes: float) -> str:
    """``15 minutes``, ``1 minute``, ``2 hours``: how long a reveal link works."""
    if minutes >= 60 and minutes % 60 == 0:
        hours = int(minutes // 60)
        return "1 hour" if hours == 1 else f"{hours} hours"
    return "1 minute" if minutes == 1 else f"{minutes:g} minutes"


class _HeaderClasses(HeaderRegistry):
    """The standard library's header registry, keeping the class it makes for a header
    name instead of making a new one (`type(...)`) for every header of every message:
    about a third of the CPU of composing an email and flattening it for SMTP. The
    classes, and so the headers and the bytes sent, are the same."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._classes.get(key)
        if made is None:
            made = self._classes[key] = super().__getitem__(name)
        return made


POLICY = default.clone(header_factory=_HeaderClasses())
"""The standard `email.policy.default`, with header classes made once."""


def new_message() -> EmailMessage:
    """An empty email under `POLICY`."""
    return EmailMessage(policy=POLICY)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: 5 s, 10 s, 20 s … up to 30 min."""
    return min(_FIRST_RETRY * (1 << max(attempts - 1, 0)), _LONGEST_RETRY)
