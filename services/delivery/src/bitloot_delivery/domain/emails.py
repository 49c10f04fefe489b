"""The customer's email: a reveal link and nothing else (never a key), and when to try
again after the mail server refused it."""

import html
from datetime import timedelta
from email.message import EmailMessage
from enum import StrEnum

MAX_ATTEMPTS = 8
_FIRST_RETRY = timedelta(seconds=5)
_LONGEST_RETRY = timedelta(minutes=30)

SUBJECT = "Your BitLoot keys are ready"

_TEXT = """\
Hello,

your keys are ready. Open this link to reveal them:

{link}

The link works for {minutes} minutes. If it has expired, contact support with your
order number and we will send a new one.

BitLoot
"""

_HTML = """\
<!doctype html>
<html><body style="font-family: sans-serif">
<p>Hello,</p>
<p>your keys are ready. Open this link to reveal them:</p>
<p><a href="{link}">Reveal my keys</a></p>
<p>The link works for {minutes} minutes. If it has expired, contact support with your
order number and we will send a new one.</p>
<p>BitLoot</p>
</body></html>
"""


class EmailKind(StrEnum):
    DELIVERY = "delivery"
    RESEND = "resend"


class EmailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def compose(*, sender: str, to: str, link: str, ttl_minutes: float) -> EmailMessage:
    """The email carrying `link` as text and as HTML."""
    minutes = f"{ttl_minutes:g}"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = SUBJECT
    message.set_content(_TEXT.format(link=link, minutes=minutes))
    message.add_alternative(
        _HTML.format(link=html.escape(link, quote=True), minutes=minutes), subtype="html"
    )
    return message


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: 5 s, 10 s, 20 s … up to 30 min."""
    return min(_FIRST_RETRY * (1 << max(attempts - 1, 0)), _LONGEST_RETRY)
