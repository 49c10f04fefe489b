"""Payment flags as the admin acts on them: the decisions payments offers, the note an
admin gives with one, and the amounts of a flag worth reading first. Pure data and rules.

Payments owns which decisions a flag allows and decides each one; the admin only names
them plainly, asks before the ones that move money, and refuses a note payments would
refuse."""

import json
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import JsonValue

# Payments' limit on a decision's note; longer ones are refused before anything is sent.
MAX_NOTE = 2000


@dataclass(frozen=True)
class Decision:
    """One decision on a flag: `name` as payments' path spells it, the audit's `action`,
    what its button says, what it means, the title of its result (``{id}``: the flag's),
    and the question asked before it (None: none is asked)."""

    name: str
    action: str
    label: str
    means: str
    title: str
    confirm: str | None
    note_required: bool = False


DECISIONS: Mapping[str, Decision] = {
    decision.name: decision
    for decision in (
        Decision(
            "accept",
            "flag_accept",
            "Accept payment and fulfil the order",
            "The order counts as paid by this payment and is fulfilled (once).",
            "Accept the payment of flag #{id} and fulfil its order",
            "Accept this payment and fulfil the order? The customer gets their keys.",
        ),
        Decision(
            "refund-due",
            "flag_refund_due",
            "Mark refund due",
            "The money is owed back: a refund is recorded, and the order becomes refund "
            "due unless it was already paid.",
            "Mark a refund due for flag #{id}",
            "Mark the money of this payment as owed back to the customer?",
        ),
        Decision(
            "dismiss",
            "flag_dismiss",
            "Dismiss",
            "Nothing to do: the flag is closed with your note saying why.",
            "Dismiss flag #{id}",
            None,
            note_required=True,
        ),
    )
}


class NoteTooLong(ValueError):
    def __init__(self, length: int) -> None:
        super().__init__(f"The note has {length} characters; at most {MAX_NOTE} are kept.")
        self.length = length


def clean_note(raw: str | None) -> str | None:
    """The note as payments should get it: line breaks as ``\\n`` (a form sends
    ``\\r\\n``), no surrounding blanks, None when nothing is left; `NoteTooLong` past
    `MAX_NOTE` characters."""
    if raw is None:
        return None
    note = raw.replace("\r\n", "\n").strip()
    if len(note) > MAX_NOTE:
        raise NoteTooLong(len(note))
    return note or None


def open_decisions(offered: list[str]) -> list[Decision]:
    """The decisions payments says are open to a flag, in its order; a name the admin
    does not know is left out (it would have no form)."""
    return [DECISIONS[name] for name in offered if name in DECISIONS]


_PRICED = (
    ("Order price", "price_amount", "price_currency"),
    ("Asked to pay", "pay_amount", "pay_currency"),
    ("Actually paid", "actually_paid", "pay_currency"),
)


def amounts(data: Mapping[str, JsonValue]) -> list[tuple[str, str]]:
    """A flag's `data` as (label, text) rows: what the order cost, what was asked and
    what was paid, each with its currency, then every other field payments filled in,
    under its own name."""
    rows: list[tuple[str, str]] = []
    used: set[str] = set()
    for label, amount, currency in _PRICED:
        if data.get(amount) is not None:
            rows.append((label, f"{_text(data[amount])} {_text(data.get(currency))}".strip()))
            used |= {amount, currency}
    rest = [(name, value) for name, value in data.items() if name not in used]
    rows += [(_label(name), _text(value)) for name, value in rest if value not in (None, "")]
    return rows


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _text(value: JsonValue) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
