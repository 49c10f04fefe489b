"""Delivery's internal refund actions for the admin service (token-guarded by the
runtime): revoke an order's unrevealed keys as it is refunded; send a notice again."""

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from bitloot_delivery.domain.emails import EmailKind
from bitloot_delivery.entrypoints.edge import Edge, order_id
from bitloot_delivery.entrypoints.internal import PREFIX, Queued
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import MAX_BIGINT, Moment, answer, parse_body, read_json
from bitloot_runtime.openapi import ApiRoute

MAX_NOTE = 2000


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=128)
    note: str | None = Field(default=None, min_length=1, max_length=MAX_NOTE)


class ResendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["refund_due", "refund_sent", "delayed"]
    actor: str = Field(min_length=1, max_length=128)
    refund_id: int | None = Field(default=None, ge=1, le=MAX_BIGINT)


class Revoked(BaseModel):
    order_id: UUID
    key_count: int
    revoked_at: Moment


async def revoke_keys(request: Request) -> Response:
    order = order_id(request)
    body = parse_body(RevokeRequest, (await read_json(request))[1])
    revoked = await dependencies(request, Edge).revoke(order, body.actor, body.note)
    return answer(Revoked.model_validate(revoked, from_attributes=True))


async def resend_notice(request: Request) -> Response:
    order = order_id(request)
    body = parse_body(ResendRequest, (await read_json(request))[1])
    resend = dependencies(request, Edge).resend_notice
    email_id = await resend(order, EmailKind(body.kind), body.actor, body.refund_id)
    return answer(Queued(order_id=order, email_id=email_id), 202)


ROUTES = [
    ApiRoute(
        f"{PREFIX}/revoke",
        revoke_keys,
        method="POST",
        summary="Revoke the order's keys, never revealed, as it is refunded (emits keys.revoked).",
        response=Revoked,
        body=RevokeRequest,
        refusals={
            "404": "No keys were delivered for the order (`no_keys`).",
            "409": "A key was revealed (`keys_revealed`), or the keys are already revoked "
            "(`already_revoked`).",
        },
    ),
    ApiRoute(
        f"{PREFIX}/notices/resend",
        resend_notice,
        method="POST",
        status=202,
        summary="Send a notice (refund_due, refund_sent, delayed) again, on an admin's request.",
        response=Queued,
        body=ResendRequest,
        refusals={"404": "The order never had such a notice (`no_such_notice`)."},
    ),
]
