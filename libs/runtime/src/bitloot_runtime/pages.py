"""The customer's HTML pages (delivery's reveal page, payments' refund claim page): every
answer is sent with headers that keep it out of caches and referrers and forbid scripts,
frames and remote content (images only as ``data:`` URLs), and forms post only to the
page's own origin.
"""

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bitloot_runtime.http import HttpError, error_response
from bitloot_runtime.rate_limits import RateLimited

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}

_PAGE = """\
<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}
code{{font-size:1.2rem;user-select:all;word-break:break-all}}li{{margin:.75rem 0}}
label{{display:block;margin:.75rem 0}}input{{width:100%;font-size:1rem}}</style>
</head><body>
<h1>{title}</h1>
{body}
</body></html>
"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """An HTML page with the security headers; `body` must already be escaped."""
    content = _PAGE.format(title=html.escape(title), body=body)
    return HTMLResponse(content, status_code=status, headers=SECURITY_HEADERS)


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON (an API client) rather than a page."""
    return "application/json" in request.headers.get("accept", "")


def rate_limited(request: Request, exc: RateLimited, text: str) -> Response:
    """429 with Retry-After: JSON with the reason for API clients, a page saying `text`
    for browsers."""
    headers = {**SECURITY_HEADERS, "Retry-After": str(exc.retry_after)}
    if wants_json(request):
        error = HttpError(429, "rate_limited", str(exc), [{"limit": exc.limit.name}])
        response = error_response(error)
        response.headers.update(headers)
        return response
    answer = page("Please wait", f"<p>{html.escape(text)}</p>", 429)
    answer.headers.update(headers)
    return answer
