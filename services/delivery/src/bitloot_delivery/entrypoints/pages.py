"""The customer's reveal page, `GET /keys/{token}`: the only place a key is ever shown.

Every answer of this page, keys or refusal, is sent with headers that keep it out of
caches and referrers and forbid scripts, frames and remote content.
"""

import html
import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_delivery.domain.keys import DeliveredKey
from bitloot_delivery.domain.links import LinkProblem, LinkRefused
from bitloot_delivery.handlers.reveal import RevealKeys, Visitor

logger = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
_MAX_USER_AGENT = 512

_PAGE = """\
<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}
code{{font-size:1.2rem;user-select:all;word-break:break-all}}li{{margin:.75rem 0}}</style>
</head><body>
<h1>{title}</h1>
{body}
</body></html>
"""

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
        "This link has expired. Contact support with your order number for a new one.",
    ),
}


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """An HTML page with the security headers; `body` must already be escaped."""
    content = _PAGE.format(title=html.escape(title), body=body)
    return HTMLResponse(content, status_code=status, headers=SECURITY_HEADERS)


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


def refusal_page(problem: LinkProblem) -> HTMLResponse:
    status, title, text = _REFUSALS[problem]
    return page(title, f"<p>{html.escape(text)}</p>", status)


def page_routes(reveal: RevealKeys) -> list[BaseRoute]:
    async def reveal_keys(request: Request) -> Response:
        visitor = Visitor(
            ip=request.client.host if request.client else None,
            user_agent=(request.headers.get("user-agent") or "")[:_MAX_USER_AGENT] or None,
        )
        try:
            keys = await reveal(request.path_params["token"], visitor)
        except LinkRefused as refused:
            logger.info("reveal link refused", extra={"problem": refused.problem.value})
            return refusal_page(refused.problem)
        except Exception:
            # Still a page with the headers above, and nothing about what went wrong.
            logger.exception("reveal failed")
            return page("Try again later", "<p>Your keys could not be shown just now.</p>", 503)
        return keys_page(keys)

    return [Route("/keys/{token}", reveal_keys, methods=["GET"])]
