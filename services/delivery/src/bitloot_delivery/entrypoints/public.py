"""`POST /orders/{order_id}/link`: the holder of the order token (given at checkout by
payments) gets a fresh reveal link in the answer, nothing emailed. The answer is a
credential: sent with `Cache-Control: no-store` and `Referrer-Policy: no-referrer`."""

from uuid import UUID

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from bitloot_delivery.entrypoints.edge import UNAVAILABLE, Edge, credential, order_id, visitor_of
from bitloot_delivery.handlers.links import IssuedLink
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import HttpError, Moment
from bitloot_runtime.openapi import ApiRoute


class Link(BaseModel):
    """A fresh reveal link (`Cache-Control: no-store`)."""

    order_id: UUID
    link: str
    expires_at: Moment


def link_answer(order: UUID, issued: IssuedLink) -> Response:
    return credential(Link(order_id=order, link=issued.url, expires_at=issued.expires_at), 201)


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def issue_link(request: Request) -> Response:
    order, edge = order_id(request), dependencies(request, Edge)
    if edge.verifier is None:
        raise HttpError(503, "order_tokens_not_configured", "Order tokens are not set up.")
    edge.verifier.verify(bearer_token(request), order)
    return link_answer(order, await edge.issue(order, "customer", visitor_of(request)))


ROUTES = [
    ApiRoute(
        "/orders/{order_id}/link",
        issue_link,
        method="POST",
        status=201,
        summary="A fresh reveal link in the answer, for the holder of the order token.",
        response=Link,
        security=[{"orderToken": []}],
        refusals={
            **UNAVAILABLE,
            "403": "The token is for another order (`token_wrong_order`).",
            "503": "Order tokens are not set up (`order_tokens_not_configured`).",
        },
    )
]
