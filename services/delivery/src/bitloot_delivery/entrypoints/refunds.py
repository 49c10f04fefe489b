"""Delivery's internal refund actions for the admin service (token-guarded by the
runtime), JSON in and out:

- ``POST /internal/orders/{order_id}/revoke`` ``{"actor", "note"}``: revoke the order's
  unrevealed keys (it is being refunded) → 200 ``{order_id, key_count, revoked_at}``;
  409 ``keys_revealed`` / ``already_revoked``, 404 ``no_keys``;
- ``POST /internal/orders/{order_id}/notices/resend`` ``{"kind", "actor"[, "refund_id"]}``:
  send a notice again → 202 ``{order_id, email_id}``; 404 ``no_such_notice``.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_delivery.domain.emails import EmailKind
from bitloot_delivery.domain.revocation import RevokeRefused
from bitloot_delivery.entrypoints.public import order_id_of
from bitloot_delivery.handlers.resend_notice import NoSuchNotice, ResendNotice
from bitloot_delivery.handlers.revoke import RevokeKeys
from bitloot_runtime.http import HttpError, parse_body, read_json

_REFUSED_STATUS = {"no_keys": 404, "already_revoked": 409, "keys_revealed": 409}
MAX_NOTE = 2000


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=128)
    note: str | None = Field(default=None, min_length=1, max_length=MAX_NOTE)


class ResendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["refund_due", "refund_sent", "delayed"]
    actor: str = Field(min_length=1, max_length=128)
    refund_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


def refund_routes(revoke: RevokeKeys, resend_notice: ResendNotice) -> list[BaseRoute]:
    async def revoke_keys(request: Request) -> Response:
        order_id = order_id_of(request)
        _raw, document = await read_json(request)
        body = parse_body(RevokeRequest, document)
        try:
            revoked = await revoke(order_id, body.actor, body.note)
        except RevokeRefused as refused:
            raise HttpError(_REFUSED_STATUS[refused.code], refused.code, str(refused)) from None
        answer = {
            "order_id": str(order_id),
            "key_count": revoked.key_count,
            "revoked_at": revoked.revoked_at.isoformat(),
        }
        return JSONResponse(answer)

    async def resend(request: Request) -> Response:
        order_id = order_id_of(request)
        _raw, document = await read_json(request)
        body = parse_body(ResendRequest, document)
        kind = EmailKind(body.kind)
        try:
            email_id = await resend_notice(order_id, kind, body.actor, body.refund_id)
        except NoSuchNotice as exc:
            raise HttpError(404, "no_such_notice", str(exc)) from None
        return JSONResponse({"order_id": str(order_id), "email_id": email_id}, status_code=202)

    prefix = "/internal/orders/{order_id}"
    return [
        Route(f"{prefix}/revoke", revoke_keys, methods=["POST"]),
        Route(f"{prefix}/notices/resend", resend, methods=["POST"]),
    ]
