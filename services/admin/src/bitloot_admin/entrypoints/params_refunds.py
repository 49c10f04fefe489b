"""Reading what the browser or an API client sent about refunds: the queue's filter, a
decision's note and transaction id, a refund of an unrevealed order, a notice to resend.
Anything payments or delivery would refuse is refused here first, so nothing is sent."""

from collections.abc import Mapping
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request

from bitloot_admin.domain.refunds import (
    NOTICES,
    REFUND_STATUSES,
    BadTransactionId,
    RefundDecision,
    clean_transaction_id,
)
from bitloot_admin.entrypoints.params import Before, Blank, Limit, invalid, note
from bitloot_admin.handlers.refunds import RefundFilter
from bitloot_runtime.http import HttpError, QueryModel, parse_query


class RefundQuery(QueryModel):
    """``GET /admin/api/refunds`` (and the refunds page): by status and order, before a
    refund id."""

    status: Annotated[str | None, Blank] = Field(
        None, json_schema_extra={"enum": list(REFUND_STATUSES)}
    )
    before: Before = Field(None, description="A refund id: the page after the one ending there.")
    order_id: Annotated[UUID | None, Blank] = None
    limit: Limit = 50

    @field_validator("status")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and value not in REFUND_STATUSES:
            raise ValueError(f"status must be one of {', '.join(REFUND_STATUSES)}")
        return value


def refund_filter(request: Request) -> RefundFilter:
    """The refunds wanted (`RefundQuery`); 422 before payments is asked."""
    query = parse_query(RefundQuery, request)
    return RefundFilter(query.limit, query.status, query.order_id, query.before)


class RefundRequest(BaseModel):
    """The body of a decision on a refund, of refunding an unrevealed order, or of a
    notice to resend; each action reads the fields it takes."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = None
    transaction_id: str | None = None
    kind: str | None = None


def decision_of(
    decision: RefundDecision, fields: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """The decision's note and transaction id: 422 ``note_required`` for a decision that
    needs a note and has none, ``invalid_transaction_id`` for a bad one (or one given to
    a decision that takes none)."""
    said = required_note(fields) if decision.note_required else note(fields.get("note"))
    raw = fields.get("transaction_id")
    if raw and not decision.takes_transaction_id:
        detail = f"{decision.label} takes no transaction id."
        raise HttpError(422, "invalid_transaction_id", detail, invalid("transaction_id"))
    try:
        return said, clean_transaction_id(raw)
    except BadTransactionId as exc:
        raise HttpError(
            422, "invalid_transaction_id", str(exc), invalid("transaction_id")
        ) from None


def required_note(fields: Mapping[str, str]) -> str:
    """The note, which must say something: 422 ``note_required`` otherwise."""
    said = note(fields.get("note"))
    if said is None:
        raise HttpError(
            422, "note_required", "Say why in the note.", invalid("note", "note_required")
        )
    return said


def notice_kind(fields: Mapping[str, str]) -> str:
    """The notice to send again: 422 ``invalid_kind`` unless one delivery sends."""
    kind = fields.get("kind", "")
    if kind not in NOTICES:
        detail = f"kind must be one of {', '.join(NOTICES)}."
        raise HttpError(422, "invalid_kind", detail, invalid("kind"))
    return kind
