"""The delay notice: the customer is told, once, that their keys are late (a slow order)
or wait for the game's release (a preorder), and that they will come by email.

It is sent before any key exists, so it carries no link and no key: there is nothing to
reveal yet, and the keys email follows by itself once the supplier delivers.
"""

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from uuid import UUID

from bitloot_delivery.domain.emails import new_message
from bitloot_delivery.templates import render

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

_DELAYED = (
    "your order {order} is taking longer than usual: our supplier has not delivered your keys yet."
)
_PREORDER = (
    "your order {order} is a preorder: its keys are delivered when the game is released, "
    "on {release}."
)
_UNDATED_PREORDER = (
    "your order {order} is a preorder: its keys are delivered when the game is released."
)
_PROMISE = "As soon as our supplier delivers your keys, we will email you a link to reveal them."
_NOTHING_TO_DO = "Your order is confirmed; there is nothing you need to do."


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

    def paragraphs(self, order_id: UUID) -> list[str]:
        if not self.is_preorder:
            opening = _DELAYED.format(order=order_id)
        elif self.release_date is None:
            opening = _UNDATED_PREORDER.format(order=order_id)
        else:
            opening = _PREORDER.format(order=order_id, release=long_date(self.release_date))
        return [opening, _PROMISE, _NOTHING_TO_DO]


def long_date(day: date) -> str:
    """``24 December 2026``: unambiguous wherever the customer lives."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def compose_notice(
    *,
    sender: str,
    to: str,
    notice: DelayNotice,
    message_id: str,
    order_id: UUID,
    support_email: str,
) -> EmailMessage:
    """The notice as text and as HTML, naming the order; no link, no key."""
    return notice_message(
        sender=sender,
        to=to,
        subject=notice.subject,
        message_id=message_id,
        support_email=support_email,
        before=notice.paragraphs(order_id),
    )


def notice_message(
    *,
    sender: str,
    to: str,
    subject: str,
    message_id: str,
    support_email: str,
    before: list[str],
    link: str | None = None,
    link_label: str = "",
    after: Sequence[str] = (),
) -> EmailMessage:
    """A notice (the refund emails too) as text and as HTML: a greeting, the paragraphs
    `before`, the `link` if any, the paragraphs `after`, whom to write to, the signature.
    A paragraph may hold lines (a list of steps), each kept on its own."""
    context = {
        "subject": subject,
        "link": link,
        "link_label": link_label,
        "support_email": support_email,
    }
    message = new_message()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    text = render(
        "notice.txt", before=[_fill(p) for p in before], after=[_fill(p) for p in after], **context
    )
    message.set_content(text)
    message.add_alternative(
        render("notice.html", before=before, after=list(after), **context), subtype="html"
    )
    return message


def _fill(paragraph: str) -> str:
    """Wrapped at 78 columns, each line of a list (the steps) kept on its own."""
    return "\n".join(textwrap.fill(line, width=78) for line in paragraph.split("\n"))
