"""The customer's reveal page, `GET /keys/{token}`: the only place a key is ever shown;
and `POST /keys/{token}/fresh-link`, the form an expired or invalid link's page offers.

Every answer of these pages, keys or refusal, is sent with the runtime's page headers
(`bitloot_runtime.pages`): no caching, no referrer, no scripts, frames or remote content
(images only as ``data:`` URLs, which is how image keys are shown).
"""

import html
import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_delivery.domain.keys import DeliveredKey
from bitloot_delivery.domain.links import LinkProblem, LinkRefused
from bitloot_delivery.domain.rate_limits import RateLimited
from bitloot_delivery.domain.retention import KeysPurged
from bitloot_delivery.domain.revocation import REFUNDED_TEXT, REFUNDED_TITLE, OrderRefunded
from bitloot_delivery.handlers.links import Links
from bitloot_delivery.handlers.reveal import RevealKeys, Visitor
from bitloot_runtime.http import HttpError, error_response
from bitloot_runtime.pages import SECURITY_HEADERS, page, rate_limited, wants_json

logger = logging.getLogger(__name__)

_MAX_USER_AGENT = 512

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

_FRESH_LINK_FORM = """\
<form method="post" action="{action}">
<p>We can email a new link to the address the order was placed with.</p>
<button type="submit">Email me a new link</button>
</form>
"""
_FRESH_LINK_SENT = (
    "If this link belongs to an order, a new link is on its way to the email address of "
    "that order. It may take a few minutes to arrive."
)


def render_key(key: DeliveredKey) -> str:
    if key.is_image:
        # parse_keys checked the value is base64 and the type one of a few image types.
        return f'<li><img alt="key image" src="data:{key.type};base64,{key.value}"/></li>'
    return f"<li><code>{html.escape(key.value)}</code></li>"


def keys_page(keys: list[DeliveredKey]) -> HTMLResponse:
    items = "\n".join(render_key(key) for key in keys)
    return page(
        "Your keys", f"<ul>\n{items}\n</ul>\n<p>Keep them safe; do not share this link.</p>"
    )


def refusal_page(problem: LinkProblem, path: str) -> HTMLResponse:
    """The expired or invalid link's page, with the form asking for a fresh link."""
    status, title, text = _REFUSALS[problem]
    form = _FRESH_LINK_FORM.format(action=html.escape(f"{path}/fresh-link", quote=True))
    return page(title, f"<p>{html.escape(text)}</p>\n{form}", status)


def visitor_of(request: Request) -> Visitor:
    return Visitor(
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:_MAX_USER_AGENT] or None,
    )


def refunded(request: Request) -> Response:
    """410 ``order_refunded``: the keys were revoked when the order was refunded; JSON
    for API clients, a page for browsers, in the customer's words either way."""
    if wants_json(request):
        response = error_response(HttpError(410, "order_refunded", REFUNDED_TEXT))
        response.headers.update(SECURITY_HEADERS)
        return response
    return page(REFUNDED_TITLE, f"<p>{html.escape(REFUNDED_TEXT)}</p>", 410)


def page_routes(reveal: RevealKeys, links: Links) -> list[BaseRoute]:
    async def reveal_keys(request: Request) -> Response:
        try:
            keys = await reveal(request.path_params["token"], visitor_of(request))
        except LinkRefused as refused:
            logger.info("reveal link refused", extra={"problem": refused.problem.value})
            return refusal_page(refused.problem, request.url.path)
        except OrderRefunded:
            logger.info("reveal refused: order refunded, keys revoked")
            return refunded(request)
        except KeysPurged:
            text = "These keys were deleted at the end of their retention period."
            return page("Keys deleted", f"<p>{text}</p>", 410)
        except Exception:
            # Still a page with the headers above, and nothing about what went wrong.
            logger.exception("reveal failed")
            return page("Try again later", "<p>Your keys could not be shown just now.</p>", 503)
        return keys_page(keys)

    async def fresh_link(request: Request) -> Response:
        try:
            await links.email_fresh_link(request.path_params["token"], visitor_of(request))
        except RateLimited as exc:
            logger.warning("fresh link refused: rate limited", extra={"limit": exc.limit.name})
            return rate_limited(
                request, exc, "Too many new links were asked for. Please try again later."
            )
        except OrderRefunded:
            return refunded(request)
        return page("Check your email", f"<p>{html.escape(_FRESH_LINK_SENT)}</p>", 202)

    return [
        Route("/keys/{token}", reveal_keys, methods=["GET"]),
        Route("/keys/{token}/fresh-link", fresh_link, methods=["POST"]),
    ]
