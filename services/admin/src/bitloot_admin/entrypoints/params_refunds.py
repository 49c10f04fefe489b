"""Reading what the browser or an API client sent about refunds: the queue's filter, a
decision's note and transaction id, a refund of an unrevealed order, a notice to resend.
Anything payments or delivery would refuse is refused here first, so nothing is sent."""

from collections.abc import Mapping
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request

from bitloot_admin.domain.refunds import (
    NOTICES,
    REFUND_STATUSES,
    BadTransactionId,
    RefundDecision,
    clean_transaction_id,
)
from bitloot_admin.entrypoints.params import MAX_NOTE_BODY, note
from bitloot_admin.handlers.refunds import RefundFilter
from bitloot_runtime.http import HttpError, parse_body, parse_json, read_body, whole_number
from bitloot_runtime.internal import page_limit


def _field(name: str, code: str = "invalid") -> list[dict[str, str]]:
    return [{"field": name, "code": code, "error": f"{name} is {code}"}]


def refund_filter(request: Request) -> RefundFilter:
    """``status`` (a refund status), ``order_id``, ``before`` (a refund id) and ``limit``."""
    query = request.query_params
    status, wanted, before = (
        query.get(name, "").strip() or None for name in ("status", "order_id", "before")
    )
    if status is not None and status not in REFUND_STATUSES:
        detail = f"status must be one of {', '.join(REFUND_STATUSES)}."
        raise HttpError(422, "invalid_status", detail, _field("status"))
    before_id = whole_number(before) if before is not None else None
    if before is not None and before_id is None:
        raise HttpError(422, "invalid_before", "before must be a refund id.", _field("before"))
    try:
        order = UUID(wanted) if wanted else None
    except ValueError:
        detail = "order_id must be a UUID."
        raise HttpError(422, "invalid_order_id", detail, _field("order_id")) from None
    return RefundFilter(page_limit(request), status, order, before_id)


class RefundRequest(BaseModel):
    """The body of a decision on a refund, of refunding an unrevealed order, or of a
    notice to resend; each action reads the fields it takes."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = None
    transaction_id: str | None = None
    kind: str | None = None


async def read_refund_request(request: Request) -> dict[str, str]:
    """A JSON body of an API action as form-like fields (no body: none)."""
    raw = await read_body(request, MAX_NOTE_BODY)
    if not raw:
        return {}
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HttpError(415, "unsupported_media_type", "Send the body as application/json.")
    body = parse_body(RefundRequest, parse_json(raw))
    return {name: value for name, value in body.model_dump().items() if value is not None}


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
        raise HttpError(422, "invalid_transaction_id", detail, _field("transaction_id"))
    try:
        return said, clean_transaction_id(raw)
    except BadTransactionId as exc:
        raise HttpError(422, "invalid_transaction_id", str(exc), _field("transaction_id")) from None


def required_note(fields: Mapping[str, str]) -> str:
    """The note, which must say something: 422 ``note_required`` otherwise."""
    said = note(fields.get("note"))
    if said is None:
        raise HttpError(
            422, "note_required", "Say why in the note.", _field("note", "note_required")
        )
    return said


def notice_kind(fields: Mapping[str, str]) -> str:
    """The notice to send again: 422 ``invalid_kind`` unless one delivery sends."""
    kind = fields.get("kind", "")
    if kind not in NOTICES:
        detail = f"kind must be one of {', '.join(NOTICES)}."
        raise HttpError(422, "invalid_kind", detail, _field("kind"))
    return kind
