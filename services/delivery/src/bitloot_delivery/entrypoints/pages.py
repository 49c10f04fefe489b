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
from starlette.routing import BaseRoute, Route

from bitloot_delivery.domain.keys import DeliveredKey
from bitloot_delivery.domain.links import LinkProblem, LinkRefused
from bitloot_delivery.domain.rate_limits import RateLimited
from bitloot_delivery.domain.redemption import HELP, Help, platform_of
from bitloot_delivery.domain.retention import KeysPurged
from bitloot_delivery.domain.revocation import REFUNDED_TEXT, REFUNDED_TITLE, OrderRefunded
from bitloot_delivery.domain.summaries import OrderSummary
from bitloot_delivery.handlers.links import EmailFreshLink
from bitloot_delivery.handlers.reveal import Revealed, RevealKeys, Visitor
from bitloot_delivery.metrics import DeliveryMetrics
from bitloot_delivery.templates import render, static
from bitloot_runtime.http import HttpError, error_response
from bitloot_runtime.pages import SECURITY_HEADERS, rate_limited, wants_json

logger = logging.getLogger(__name__)

_MAX_USER_AGENT = 512
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
    LinkProblem.EXPIRED: (
        410,
        "Link expired",
        "This link has expired.",
    ),
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

    def refusal(self, problem: LinkProblem, path: str) -> HTMLResponse:
        """The expired or invalid link's page, with the form asking for a fresh link."""
        status, title, text = _REFUSALS[problem]
        return self.message(title, text, status, fresh_link_action=f"{path}/fresh-link")

    def refunded(self, request: Request) -> Response:
        """410 ``order_refunded``: the keys were revoked when the order was refunded; JSON
        for API clients, a page for browsers, in the customer's words either way."""
        if wants_json(request):
            response = error_response(HttpError(410, "order_refunded", REFUNDED_TEXT))
            response.headers.update(SECURITY_HEADERS)
            return response
        return self.message(REFUNDED_TITLE, REFUNDED_TEXT, 410)


def visitor_of(request: Request) -> Visitor:
    return Visitor(
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:_MAX_USER_AGENT] or None,
    )


def page_routes(
    reveal: RevealKeys,
    email_fresh_link: EmailFreshLink,
    support_email: str,
    metrics: DeliveryMetrics | None = None,
) -> list[BaseRoute]:
    """`metrics`: where reveals and fresh links are counted by outcome."""
    pages = Pages(support_email)

    def count_reveal(outcome: str) -> None:
        if metrics is not None:
            metrics.reveals.labels(outcome=outcome).inc()

    def count_fresh_link(outcome: str) -> None:
        if metrics is not None:
            metrics.fresh_links.labels(outcome=outcome).inc()

    async def reveal_keys(request: Request) -> Response:
        try:
            revealed = await reveal(request.path_params["token"], visitor_of(request))
        except LinkRefused as refused:
            logger.info("reveal link refused", extra={"problem": refused.problem.value})
            count_reveal(refused.problem.value)
            return pages.refusal(refused.problem, request.url.path)
        except OrderRefunded:
            logger.info("reveal refused: order refunded, keys revoked")
            count_reveal("refunded")
            return pages.refunded(request)
        except KeysPurged:
            count_reveal("purged")
            text = "These keys were deleted at the end of their retention period."
            return pages.message("Keys deleted", text, 410)
        except Exception:
            # Still a page with the headers above, and nothing about what went wrong.
            logger.exception("reveal failed")
            count_reveal("error")
            text = "Your keys could not be shown just now."
            return pages.message("Try again later", text, 503)
        count_reveal("revealed")
        return pages.keys(revealed)

    async def fresh_link(request: Request) -> Response:
        try:
            await email_fresh_link(request.path_params["token"], visitor_of(request))
        except RateLimited as exc:
            logger.warning("fresh link refused: rate limited", extra={"limit": exc.limit.name})
            count_fresh_link("rate_limited")
            return rate_limited(
                request, exc, "Too many new links were asked for. Please try again later."
            )
        except OrderRefunded:
            count_fresh_link("refunded")
            return pages.refunded(request)
        count_fresh_link("sent")
        return pages.message("Check your email", _FRESH_LINK_SENT, 202)

    async def copy_script(request: Request) -> Response:
        return Response(static("copy.js"), headers=_SCRIPT_HEADERS)

    return [
        Route(SCRIPT_PATH, copy_script, methods=["GET"]),
        Route("/keys/{token}", reveal_keys, methods=["GET"]),
        Route("/keys/{token}/fresh-link", fresh_link, methods=["POST"]),
    ]
