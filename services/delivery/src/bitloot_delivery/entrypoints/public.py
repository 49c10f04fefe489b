"""`POST /orders/{order_id}/link`: the holder of the order token (given at checkout by
payments) gets a fresh reveal link in the answer, nothing emailed.

The answer is a credential: it is sent with `Cache-Control: no-store` and
`Referrer-Policy: no-referrer`.
"""

from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_delivery.domain.retention import KeysPurged
from bitloot_delivery.domain.revocation import REFUNDED_TEXT, OrderRefunded
from bitloot_delivery.entrypoints.pages import visitor_of
from bitloot_delivery.handlers.links import DeliveryNotFound, IssueLink
from bitloot_runtime.http import HttpError
from bitloot_runtime.tokens import InvalidToken, OrderTokenVerifier

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def order_id_of(request: Request) -> UUID:
    raw = str(request.path_params["order_id"])
    try:
        return UUID(raw)
    except ValueError:
        raise HttpError(422, "invalid_order_id", f"{raw!r} is not a UUID.") from None


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def link_answer(order_id: UUID, url: str, expires_at: str, status: int = 201) -> JSONResponse:
    body = {"order_id": str(order_id), "link": url, "expires_at": expires_at}
    return JSONResponse(body, status_code=status, headers=NO_STORE)


# Why an order's keys cannot be had: none yet, deleted after retention, or revoked.
UNAVAILABLE = (DeliveryNotFound, KeysPurged, OrderRefunded)


def unavailable(exc: DeliveryNotFound | KeysPurged | OrderRefunded, order_id: UUID) -> HttpError:
    if isinstance(exc, OrderRefunded):
        return HttpError(410, "order_refunded", REFUNDED_TEXT)
    if isinstance(exc, KeysPurged):
        return HttpError(410, "keys_purged", f"The keys of order {order_id} were deleted.")
    return HttpError(404, "delivery_not_found", f"No keys were delivered for order {order_id}.")


def public_routes(issue: IssueLink, verifier: OrderTokenVerifier | None) -> list[BaseRoute]:
    async def issue_link(request: Request) -> Response:
        order_id = order_id_of(request)
        if verifier is None:
            raise HttpError(503, "order_tokens_not_configured", "Order tokens are not set up.")
        try:
            verifier.verify(bearer_token(request), order_id)
        except InvalidToken as exc:
            status = 403 if exc.code == "token_wrong_order" else 401
            raise HttpError(status, exc.code, str(exc)) from None
        try:
            issued = await issue(order_id, "customer", visitor_of(request))
        except UNAVAILABLE as exc:
            raise unavailable(exc, order_id) from None
        return link_answer(order_id, issued.url, issued.expires_at.isoformat())

    return [Route("/orders/{order_id}/link", issue_link, methods=["POST"])]
