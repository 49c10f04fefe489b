"""The delay notice: the customer is told, once, that their keys are late (a slow order)
or wait for the game's release (a preorder), and that they will come by email.

It is sent before any key exists, so it carries no link and no key: there is nothing to
reveal yet, and the keys email follows by itself once the supplier delivers.
"""

import html
import textwrap
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage

from bitloot_delivery.domain.emails import new_message

DELAYED_SUBJECT = "Your BitLoot order is delayed"
PREORDER_SUBJECT = "Your BitLoot preorder: keys on {release}"
UNDATED_PREORDER_SUBJECT = "Your BitLoot preorder: keys on release day"

# Spelled out here rather than by strftime, whose month names follow the process locale.
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_DELAYED = "your order is taking longer than usual: our supplier has not delivered your keys yet."
_PREORDER = (
    "your order is a preorder: its keys are delivered when the game is released, on {release}."
)
_UNDATED_PREORDER = "your order is a preorder: its keys are delivered when the game is released."
_PROMISE = "As soon as our supplier delivers your keys, we will email you a link to reveal them."
_NOTHING_TO_DO = "Your order is confirmed; there is nothing you need to do."

# The frame of every notice (the refund emails too): a greeting, paragraphs, the signature.
TEXT_TEMPLATE = """\
Hello,

{paragraphs}

BitLoot
"""

HTML_TEMPLATE = """\
<!doctype html>
<html><body style="font-family: sans-serif">
<p>Hello,</p>
{paragraphs}
<p>BitLoot</p>
</body></html>
"""


@dataclass(frozen=True)
class DelayNotice:
    """What the customer is told: a preorder (with its release date when known), or a
    slow order. A release date given for an order that is not a preorder is not shown."""

    is_preorder: bool
    release_date: date | None = None

    @property
    def subject(self) -> str:
        if not self.is_preorder:
            return DELAYED_SUBJECT
        if self.release_date is None:
            return UNDATED_PREORDER_SUBJECT
        return PREORDER_SUBJECT.format(release=long_date(self.release_date))

    def paragraphs(self) -> list[str]:
        if not self.is_preorder:
            opening = _DELAYED
        elif self.release_date is None:
            opening = _UNDATED_PREORDER
        else:
            opening = _PREORDER.format(release=long_date(self.release_date))
        return [opening, _PROMISE, _NOTHING_TO_DO]


def long_date(day: date) -> str:
    """``24 December 2026``: unambiguous wherever the customer lives."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def compose_notice(*, sender: str, to: str, notice: DelayNotice, message_id: str) -> EmailMessage:
    """The notice as text and as HTML; no link, no key."""
    paragraphs = notice.paragraphs()
    message = new_message()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = notice.subject
    message["Message-ID"] = message_id
    text = "\n\n".join(textwrap.fill(paragraph, width=78) for paragraph in paragraphs)
    message.set_content(TEXT_TEMPLATE.format(paragraphs=text))
    markup = "\n".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs)
    message.add_alternative(HTML_TEMPLATE.format(paragraphs=markup), subtype="html")
    return message
