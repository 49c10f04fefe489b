"""One address for both sides of an in-process BitLoot: the admin UI and what a customer
opens (payments' order pages, checkout and claim pages, delivery's reveal pages,
fulfillment's live status socket), as a load balancer's path rules would route them.

Each service keeps serving its own port too (the admin reads the others' internal APIs
there); this router hands each request, path untouched, to the app that owns it, so the
links the services write into emails and hand to NOWPayments (`Machine.public_url`)
answer where the demo prints them. An app given to `Route` as an ASGI app (not a
function) is called with the request's scope as it is: nothing is stripped or rewritten.
"""

from collections.abc import Mapping

from starlette.routing import BaseRoute, Route, Router, WebSocketRoute
from starlette.types import ASGIApp


def front(apps: Mapping[str, ASGIApp]) -> Router:
    """The router over the apps of `admin`, `delivery`, `fulfillment` and `payments`:
    the admin under ``/admin``, the reveal pages under ``/keys/`` and the customer's
    request for a fresh link to delivery, the live status socket to fulfillment, and
    everything else (orders, IPNs, refund claims) to payments."""
    routes: list[BaseRoute] = [
        Route("/admin", apps["admin"]),
        Route("/admin/{rest:path}", apps["admin"]),
        Route("/keys/{rest:path}", apps["delivery"]),
        Route("/orders/{order_id}/link", apps["delivery"]),
        WebSocketRoute("/ws/orders/{order_id}", apps["fulfillment"]),
        Route("/{rest:path}", apps["payments"]),
    ]
    return Router(routes)
