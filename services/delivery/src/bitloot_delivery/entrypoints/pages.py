"""The customer's reveal page, `GET /keys/{token}`: the only place a key is ever shown;
and `POST /keys/{token}/fresh-link`, the form an expired or invalid link's page offers.

Every answer of these pages, keys or refusal, is sent with the runtime's page headers
(`bitloot_runtime.pages`): no caching, no referrer, no frames or remote content (images
only as ``data:`` URLs, which is how image keys are shown). The one script any of them
may run is the reveal page's copy script, served by delivery itself (`SCRIPT_PATH`): its
policy adds ``script-src 'self'`` and nothing else; without the script, each key is
selectable text and the copy buttons stay hidden.

The pages are Jinja2 templates (`bitloot_delivery.templates`), autoescaped: a product
title from the catalog is text, never markup.
"""

import logging
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bitloot_delivery.domain.keys import DeliveredKey
from bitloot_delivery.domain.links import LinkProblem, LinkRefused
from bitloot_delivery.domain.rate_limits import RateLimited
from bitloot_delivery.domain.redemption import HELP, Help, platform_of
from bitloot_delivery.domain.retention import KeysPurged
from bitloot_delivery.domain.revocation import REFUNDED_TEXT, REFUNDED_TITLE, OrderRefunded
from bitloot_delivery.domain.summaries import OrderSummary
from bitloot_delivery.entrypoints.edge import Edge, visitor_of
from bitloot_delivery.handlers.reveal import Revealed
from bitloot_delivery.templates import render, static
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import HttpError, error_response
from bitloot_runtime.openapi import ERROR, PUBLIC, Schema, operation
from bitloot_runtime.pages import SECURITY_HEADERS, rate_limited, wants_json

logger = logging.getLogger(__name__)

_CSP = "Content-Security-Policy"

# Under /keys/ (delivery's public prefix) but never a token: a token has no "/".
SCRIPT_PATH = "/keys/-/copy.js"
REVEAL_HEADERS = {**SECURITY_HEADERS, _CSP: f"{SECURITY_HEADERS[_CSP]}; script-src 'self'"}
"""The reveal page's headers: the runtime's, its own script allowed."""
_SCRIPT_HEADERS = {
    "Content-Type": "text/javascript; charset=utf-8",
    "Cache-Control": "public, max-age=3600",
    "X-Content-Type-Options": "nosniff",
}

_REFUSALS = {
    LinkProblem.INVALID: (
        401,
        "Link invalid",
        "This link is not valid. Check that you copied it whole from your email, "
        "or contact support.",
    ),
    LinkProblem.EXPIRED: (410, "Link expired", "This link has expired."),
}

_FRESH_LINK_SENT = (
    "If this link belongs to an order, a new link is on its way to the email address of "
    "that order. It may take a few minutes to arrive."
)


@dataclass(frozen=True)
class ShownKey:
    """A key as the page lists it; `number` names its text for the copy button."""

    number: int
    type: str
    value: str
    is_image: bool


@dataclass(frozen=True)
class ProductKeys:
    """The keys of one product, under its name, with how to redeem them."""

    title: str
    platform: str | None
    help: Help
    keys: list[ShownKey]


def products_of(keys: list[DeliveredKey], summary: OrderSummary | None) -> list[ProductKeys]:
    """The keys grouped by product, in the order the keys came, each product named as
    the order's summary says (by its Kinguin id if delivery never learnt its title)."""
    grouped: dict[str, list[ShownKey]] = {}
    for number, key in enumerate(keys, start=1):
        shown = ShownKey(number, key.type, key.value, key.is_image)
        grouped.setdefault(key.product_id, []).append(shown)
    products = []
    for product_id, shown_keys in grouped.items():
        line = summary.line_of(product_id) if summary is not None else None
        title = line.title if line is not None and line.title else f"Product {product_id}"
        platform = line.platform if line is not None else None
        products.append(ProductKeys(title, platform, HELP[platform_of(platform)], shown_keys))
    return products


class Pages:
    """The pages' HTML, with the support address they give."""

    def __init__(self, support_email: str) -> None:
        self._support_email = support_email

    def keys(self, revealed: Revealed) -> HTMLResponse:
        content = render(
            "reveal.html",
            title="Your keys",
            order_id=revealed.order_id,
            summary=revealed.summary,
            products=products_of(revealed.keys, revealed.summary),
            support_email=self._support_email,
            script=SCRIPT_PATH,
        )
        return HTMLResponse(content, headers=REVEAL_HEADERS)

    def message(
        self, title: str, text: str, status: int = 200, fresh_link_action: str | None = None
    ) -> HTMLResponse:
        """A page saying `text` (escaped), with the fresh-link form if `fresh_link_action`."""
        content = render(
            "message.html",
            title=title,
            paragraphs=[text],
            fresh_link_action=fresh_link_action,
            support_email=self._support_email,
        )
        return HTMLResponse(content, status_code=status, headers=SECURITY_HEADERS)

    def refunded(self, request: Request) -> Response:
        """410 ``order_refunded``: the keys were revoked when the order was refunded; JSON
        for API clients, a page for browsers, in the customer's words either way."""
        if wants_json(request):
            response = error_response(HttpError(410, "order_refunded", REFUNDED_TEXT))
            response.headers.update(SECURITY_HEADERS)
            return response
        return self.message(REFUNDED_TITLE, REFUNDED_TEXT, 410)


async def reveal_keys(request: Request) -> Response:
    edge = dependencies(request, Edge)
    pages, counted = Pages(edge.support_email), edge.metrics.reveals
    try:
        revealed = await edge.reveal(request.path_params["token"], visitor_of(request))
    except LinkRefused as refused:
        logger.info("reveal link refused", extra={"problem": refused.problem.value})
        counted.labels(outcome=refused.problem.value).inc()
        # The expired or invalid link's page offers a form asking for a fresh link.
        status, title, text = _REFUSALS[refused.problem]
        return pages.message(title, text, status, f"{request.url.path}/fresh-link")
    except OrderRefunded:
        logger.info("reveal refused: order refunded, keys revoked")
        counted.labels(outcome="refunded").inc()
        return pages.refunded(request)
    except KeysPurged:
        counted.labels(outcome="purged").inc()
        text = "These keys were deleted at the end of their retention period."
        return pages.message("Keys deleted", text, 410)
    except Exception:
        # Still a page with the headers above, and nothing about what went wrong.
        logger.exception("reveal failed")
        counted.labels(outcome="error").inc()
        text = "Your keys could not be shown just now."
        return pages.message("Try again later", text, 503)
    counted.labels(outcome="revealed").inc()
    return pages.keys(revealed)


async def fresh_link(request: Request) -> Response:
    edge = dependencies(request, Edge)
    pages, counted = Pages(edge.support_email), edge.metrics.fresh_links
    try:
        await edge.email_fresh_link(request.path_params["token"], visitor_of(request))
    except RateLimited as exc:
        logger.warning("fresh link refused: rate limited", extra={"limit": exc.limit.name})
        counted.labels(outcome="rate_limited").inc()
        return rate_limited(
            request, exc, "Too many new links were asked for. Please try again later."
        )
    except OrderRefunded:
        counted.labels(outcome="refunded").inc()
        return pages.refunded(request)
    counted.labels(outcome="sent").inc()
    return pages.message("Check your email", _FRESH_LINK_SENT, 202)


async def copy_script(_request: Request) -> Response:
    return Response(static("copy.js"), headers=_SCRIPT_HEADERS)


ROUTES = [
    Route(SCRIPT_PATH, copy_script, methods=["GET"]),
    Route("/keys/{token}", reveal_keys, methods=["GET"]),
    Route("/keys/{token}/fresh-link", fresh_link, methods=["POST"]),
]


def _described(summary: str, answers: dict[str, str], content: str = "text/html") -> Schema:
    """A page's OpenAPI operation: HTML, but a JSON error for 410 and 429 if JSON is asked."""
    error = {"application/json": {"schema": ERROR}}
    described = {
        status: {
            "description": text,
            "content": {content: {}, **(error if status in ("410", "429") else {})},
        }
        for status, text in answers.items()
    }
    return operation(summary, described, security=PUBLIC)


DESCRIBED = {
    "/keys/{token}": {
        "get": _described(
            "The reveal page: the keys, for the holder of the link's token (in the path).",
            {
                "200": "The keys.",
                "401": "The link is not valid; the page offers a fresh one.",
                "410": "The link expired, the keys were deleted, or the order was refunded and "
                "its keys withdrawn (`order_refunded`, JSON when asked for).",
                "503": "The keys cannot be shown just now.",
            },
        )
    },
    SCRIPT_PATH: {
        "get": _described(
            "The reveal page's copy-button script (the one script its policy allows).",
            {"200": "The script."},
            "text/javascript",
        )
    },
    "/keys/{token}/fresh-link": {
        "post": _described(
            "Email a fresh link to the order's address, if the token names an order (the "
            "answer is the same either way).",
            {
                "202": "Accepted.",
                "410": "The link's order was refunded and its keys withdrawn "
                "(`order_refunded`); JSON when asked for.",
                "429": "Too many fresh links (`Retry-After`); JSON when asked for.",
            },
        )
    },
}
"""The pages' OpenAPI paths: their routes answer HTML, which no route model says."""
