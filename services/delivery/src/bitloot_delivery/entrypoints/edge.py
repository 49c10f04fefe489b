"""What delivery's endpoints depend on (`Edge`, built by `bootstrap` and read from the
app state with `bitloot_runtime.app.dependencies`), what they read of a request (the
order id, the visitor), and how the service answers its exceptions (`REFUSALS`)."""

from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse

from bitloot_delivery.domain.retention import KeysPurged
from bitloot_delivery.domain.revocation import REFUNDED_TEXT, OrderRefunded, RevokeRefused
from bitloot_delivery.handlers.links import DeliveryNotFound, EmailFreshLink, IssueLink, ResendLink
from bitloot_delivery.handlers.object_url import PresignObject
from bitloot_delivery.handlers.resend_notice import NoSuchNotice, ResendNotice
from bitloot_delivery.handlers.reveal import RevealKeys, Visitor
from bitloot_delivery.handlers.revoke import RevokeKeys
from bitloot_delivery.metrics import DeliveryMetrics
from bitloot_runtime.http import Refusal, path_uuid
from bitloot_runtime.tokens import InvalidToken, OrderTokenVerifier

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class Edge:
    """The engine (for the read-only views), the use cases, the order tokens' verifier
    (None: not set up), the support address the pages give, and the counters."""

    engine: AsyncEngine
    reveal: RevealKeys
    email_fresh_link: EmailFreshLink
    issue: IssueLink
    resend_link: ResendLink
    presign: PresignObject
    revoke: RevokeKeys
    resend_notice: ResendNotice
    verifier: OrderTokenVerifier | None
    support_email: str
    metrics: DeliveryMetrics


# The path's order id; 422 ``invalid_order_id`` (not the router's 404) for a non-UUID.
order_id = path_uuid


def visitor_of(request: Request) -> Visitor:
    return Visitor(
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:512] or None,
    )


def credential(body: BaseModel, status: int = 200) -> JSONResponse:
    """`body` holding a secret (a link, a presigned URL): never cached, never referred."""
    return JSONResponse(body.model_dump(mode="json"), status, headers=NO_STORE)


REFUSALS = {
    DeliveryNotFound: Refusal(404, "delivery_not_found", detail="No keys were delivered (yet)."),
    KeysPurged: Refusal(
        410, "keys_purged", detail="The order's keys were deleted after retention."
    ),
    OrderRefunded: Refusal(410, "order_refunded", detail=REFUNDED_TEXT),
    InvalidToken: Refusal(lambda exc: 403 if exc.code == "token_wrong_order" else 401),
    RevokeRefused: Refusal(lambda exc: 404 if exc.code == "no_keys" else 409),
    NoSuchNotice: Refusal(404, "no_such_notice"),
}
BAD_ORDER_ID = {"422": "The order id is not a UUID (`invalid_order_id`)."}
UNAVAILABLE = {
    **BAD_ORDER_ID,
    "404": "No keys were delivered for the order (`delivery_not_found`).",
    "410": "The keys were deleted at the end of retention (`keys_purged`), or revoked when "
    "the order was refunded (`order_refunded`).",
}
