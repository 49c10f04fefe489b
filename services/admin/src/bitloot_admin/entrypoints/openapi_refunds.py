"""The OpenAPI description of the refund routes of the admin API (`api_refunds`), merged
into `openapi.PATHS`: the queue, one refund, the three decisions, refunding an order whose
keys were never revealed, and resending a customer notice."""

from typing import Any

from bitloot_admin.domain.flags import MAX_NOTE
from bitloot_admin.domain.refunds import (
    DECISIONS,
    MAX_TRANSACTION_ID,
    NOTICES,
    REFUND_STATUSES,
    RefundDecision,
)
from bitloot_runtime.openapi import BODY_ERRORS, errors, ok

_PARTIAL = {"type": "array", "items": {"type": "string"}, "description": "Services down."}
_ACTION = {
    "type": "object",
    "properties": {"service": {"type": "string"}, "result": {"type": "object"}},
}
_REFUND_ID = {
    "name": "refund_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}
_ORDER_ID = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}
_NOTE = {"type": ["string", "null"], "maxLength": MAX_NOTE, "description": "Why."}
_COMMON = {
    "401": "No valid session.",
    "403": "The admin's role may not do this (`forbidden_role`).",
    "404": "Not found (`refund_not_found`, `order_not_found`).",
    "503": "The service that owns it did not answer (`service_unavailable`); nothing done.",
}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": required,
    }
    return {"required": bool(required), "content": {"application/json": {"schema": schema}}}


def _action(
    summary: str,
    parameter: dict[str, Any],
    body: dict[str, Any],
    refusals: dict[str, str],
) -> dict[str, Any]:
    answers = {**ok("The service's answer.", _ACTION), **errors({**_COMMON, **BODY_ERRORS})}
    return {
        "summary": summary,
        "parameters": [parameter],
        "requestBody": body,
        "responses": {**answers, **errors(refusals)},
    }


def _decision(decision: RefundDecision) -> dict[str, Any]:
    properties: dict[str, Any] = {"note": _NOTE}
    if decision.takes_transaction_id:
        properties["transaction_id"] = {
            "type": ["string", "null"],
            "maxLength": MAX_TRANSACTION_ID,
        }
    opens = ", ".join(sorted(decision.open_to))
    summary = (
        f"{decision.label} (refund {opens}). {decision.means} Audited with the note"
        f"{' (required)' if decision.note_required else ''}."
    )
    refused = "`not_claimed`" if decision.name == "approve" else "`refund_closed`"
    return _action(
        summary,
        _REFUND_ID,
        _body(properties, ["note"] if decision.note_required else []),
        {
            "409": f"Payments refuses: {refused} (the refund's status does not allow it).",
            "422": "`note_required`, `note_too_long`, `invalid_transaction_id`, or a bad body.",
        },
    )


_LISTING = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": {"type": "object"}},
        "next": {"description": "`{before}` of the next page, or null."},
        "partial": _PARTIAL,
    },
}
_ONE = {
    "type": "object",
    "properties": {
        "item": {
            "type": ["object", "null"],
            "description": "The refund with `payouts` and the `decisions` open to it; null "
            "when payments is down.",
        },
        "partial": _PARTIAL,
    },
}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema}


PATHS: dict[str, dict[str, Any]] = {
    "/admin/api/refunds": {
        "get": {
            "summary": "The refund queue, newest first: by status and order; `before` pages.",
            "parameters": [
                _query("status", {"type": "string", "enum": list(REFUND_STATUSES)}),
                _query("order_id", {"type": "string", "format": "uuid"}),
                _query("before", {"type": "integer", "minimum": 0}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
            ],
            "responses": {
                **ok("A page of refunds.", _LISTING),
                **errors({**_COMMON, "422": "`invalid_status`, `invalid_order_id`, ..."}),
            },
        }
    },
    "/admin/api/refunds/{refund_id}": {
        "get": {
            "summary": "One refund: every field payments keeps, its payouts, open decisions.",
            "parameters": [_REFUND_ID],
            "responses": {**ok("The refund.", _ONE), **errors(_COMMON)},
        }
    },
    **{
        f"/admin/api/refunds/{{refund_id}}/{name}": {"post": _decision(decision)}
        for name, decision in DECISIONS.items()
    },
    "/admin/api/orders/{order_id}/refund-unrevealed": {
        "post": _action(
            "Refund a fulfilled order none of whose keys was revealed: delivery revokes its "
            "keys, and payments records a refund due. Audited with the note (required).",
            _ORDER_ID,
            _body({"note": _NOTE}, ["note"]),
            {
                "409": "Delivery refuses: `keys_revealed` or `already_revoked`.",
                "404": "`order_not_found`, or delivery's `no_keys`.",
                "422": "`note_required`, `note_too_long`, or a bad body.",
            },
        )
    },
    "/admin/api/orders/{order_id}/notices/resend": {
        "post": _action(
            "Send a customer notice of the order again (audited).",
            _ORDER_ID,
            _body({"kind": {"type": "string", "enum": list(NOTICES)}}, ["kind"]),
            {
                "404": "`order_not_found`, or delivery's `no_such_notice` (never sent).",
                "422": "`invalid_kind`, or a bad body.",
            },
        )
    },
}
