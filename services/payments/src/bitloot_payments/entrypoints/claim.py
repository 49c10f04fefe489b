"""The public refund claim page, reached from the link in delivery's email:

- ``GET /refunds/claim?token=…``: the order, the amount and currency, why the money goes
  back, and a form for the payout address (and memo / tag where the currency has one);
- ``POST /refunds/claim`` (form ``token``, ``address``, ``extra_id``): records the claim;
- ``POST /refunds/claim/new-link`` (form ``token``): an expired link's page asks delivery
  for a new one.

Every answer is a page (`claim_pages`: Jinja2 templates, autoescaped) with the runtime's
page headers (no store, no referrer, a CSP without scripts), or JSON for a client that
accepts ``application/json`` (a refusal in the services' one error shape:
``{"error": code, "detail": …, "fields": []}``).
"""

import logging
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from bitloot_payments.domain import refunds as rules
from bitloot_payments.domain.payout_address import AddressRefused
from bitloot_payments.domain.records import Refund
from bitloot_payments.entrypoints.claim_pages import (
    CLOSED,
    TONES,
    ClaimForm,
    ClaimPages,
    ClaimView,
    LinkRequested,
    NewLinkForm,
    refund_json,
)
from bitloot_payments.entrypoints.edge import Edge
from bitloot_payments.handlers import refund_claims as claims
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import HttpError, error_response, read_body
from bitloot_runtime.openapi import PUBLIC, ApiRoute, query
from bitloot_runtime.pages import SECURITY_HEADERS, rate_limited, wants_json
from bitloot_runtime.rate_limits import RateLimited
from bitloot_runtime.tokens import InvalidToken

logger = logging.getLogger(__name__)

MAX_FORM = 4096
_INVALID = (
    "This link is not valid. Check that you copied it whole from your email, or contact support."
)


def _refusal(
    pages: ClaimPages,
    request: Request,
    status: int,
    code: str,
    title: str,
    text: str,
    tone: str = "problem",
) -> Response:
    """A page saying `text`, or for a JSON client the error in the services' one shape."""
    if wants_json(request):
        answer = error_response(HttpError(status, code, text))
        answer.headers.update(SECURITY_HEADERS)
        return answer
    return pages.message(title, text, status, tone=tone)


def _invalid(pages: ClaimPages, request: Request, exc: InvalidToken) -> Response:
    logger.info("claim link refused", extra={"problem": exc.code})
    status = 401 if exc.code in ("token_missing", "token_invalid") else 403
    return _refusal(pages, request, status, exc.code, "Link invalid", _INVALID)


def _expired(pages: ClaimPages, request: Request, token: str) -> Response:
    text = "This refund link has expired."
    if wants_json(request):
        return _refusal(pages, request, 410, "token_expired", "Link expired", text)
    return pages.message("Link expired", text, 410, tone="wait", new_link_token=token)


def _rate_limited(pages: ClaimPages, request: Request, exc: RateLimited, text: str) -> Response:
    """429 with Retry-After: the runtime's JSON for an API client, a page for a browser."""
    if wants_json(request):
        return rate_limited(request, exc, text)
    headers = {"Retry-After": str(exc.retry_after)}
    return pages.message("Please wait", text, 429, tone="wait", headers=headers)


async def _form(request: Request) -> dict[str, str]:
    """The url-encoded form (each field once, at most `MAX_FORM` bytes)."""
    raw = await read_body(request, MAX_FORM)
    try:
        fields = parse_qs(raw.decode(), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise HttpError(400, "invalid_form", "The form could not be read.") from None
    return {name: values[0] for name, values in fields.items()}


def _answer(pages: ClaimPages, request: Request, refund: Refund) -> Response:
    """Where a refund stands: JSON, or a page for one not open to a claim (any more)."""
    if wants_json(request):
        return JSONResponse(refund_json(refund), headers=SECURITY_HEADERS)
    return pages.closed(refund)


async def show(request: Request) -> Response:
    desk = dependencies(request, Edge).claims
    pages = desk.pages
    token = request.query_params.get("token") or ""
    try:
        found = await desk.show(token)
    except claims.ClaimLinkExpired:
        return _expired(pages, request, token)
    except InvalidToken as exc:
        return _invalid(pages, request, exc)
    refund = found.refund
    if refund.status == rules.DUE and not wants_json(request):
        return pages.form(refund, token)
    return _answer(pages, request, refund)


async def claim(request: Request) -> Response:
    desk = dependencies(request, Edge).claims
    pages = desk.pages
    form = await _form(request)
    token, address = form.get("token", ""), form.get("address", "")
    client = request.client.host if request.client else None
    try:
        claimed = await desk.claim(token, address, form.get("extra_id"), client)
    except RateLimited as exc:
        logger.warning("claim refused: rate limited", extra={"limit": exc.limit.name})
        return _rate_limited(pages, request, exc, "Too many tries. Please try again later.")
    except claims.ClaimLinkExpired:
        return _expired(pages, request, token)
    except InvalidToken as exc:
        return _invalid(pages, request, exc)
    except rules.RefundRefused as exc:
        title, text = CLOSED.get(exc.code, ("Refund closed", str(exc)))
        return _refusal(pages, request, 409, exc.code, title, text, TONES.get(exc.code, "problem"))
    except AddressRefused as exc:
        logger.info("claim refused: bad address", extra={"code": exc.code})
        if wants_json(request):
            return _refusal(pages, request, 422, exc.code, "Check the address", str(exc))
        found = await desk.show(token)
        return pages.form(found.refund, token, form=form, error=exc, status=422)
    return _answer(pages, request, claimed)


async def new_link(request: Request) -> Response:
    desk = dependencies(request, Edge).claims
    pages = desk.pages
    form = await _form(request)
    client = request.client.host if request.client else None
    try:
        refund = await desk.new_link(form.get("token", ""), client)
    except RateLimited as exc:
        logger.warning("new claim link refused: rate limited", extra={"limit": exc.limit.name})
        return _rate_limited(pages, request, exc, "Too many new links were asked for. Try later.")
    except InvalidToken as exc:
        return _invalid(pages, request, exc)
    if refund.status != rules.DUE:
        return _answer(pages, request, refund)
    text = (
        "A new link is on its way to the email address of the order. It may take a few "
        "minutes to arrive."
    )
    if wants_json(request):
        body = {"refund_id": refund.id, "status": "link_requested", "message": text}
        return JSONResponse(body, status_code=202, headers=SECURITY_HEADERS)
    return pages.message("Check your email", text, 202, tone="done")


_TOKEN_REFUSALS = {
    "401": "The link is not valid (`token_missing`, `token_invalid`); nothing changes.",
    "403": "The token is not a claim link's (`token_wrong_order`); nothing changes.",
    "410": "The link expired (`token_expired`): the page offers a new link.",
}
_FORM_REFUSALS = {
    "400": "The form could not be read (`invalid_form`).",
    "413": "The form is too large (`body_too_large`).",
}
ROUTES: list[BaseRoute] = [
    ApiRoute(
        "/refunds/claim",
        show,
        summary="The claim page of the refund the link names: order, amount, currency, why, "
        "and the payout address form (HTML; JSON with Accept: application/json).",
        success="The refund and, while due, the form.",
        response=ClaimView,
        page=True,
        security=PUBLIC,
        headers=[query("token", description="The claim link's token.")],
        refusals=_TOKEN_REFUSALS,
    ),
    ApiRoute(
        "/refunds/claim",
        claim,
        method="POST",
        summary="Claim the refund: where to send it. Validated (format and checksum where "
        "known) before anything is stored.",
        success="Claimed; what happens next.",
        response=ClaimView,
        page=True,
        security=PUBLIC,
        form=ClaimForm,
        refusals={
            **_TOKEN_REFUSALS,
            **_FORM_REFUSALS,
            "409": "Already claimed (`already_claimed`) or no longer open (`refund_closed`); "
            "nothing changes.",
            "422": "The address or extra id is refused (`address_required`, "
            "`address_too_long`, `address_invalid`, `address_checksum`, `extra_id_required`, "
            "`extra_id_invalid`, `extra_id_not_accepted`); nothing changes.",
            "429": "Too many claims from this address or for this refund (`rate_limited`, "
            "Retry-After).",
        },
    ),
    ApiRoute(
        "/refunds/claim/new-link",
        new_link,
        method="POST",
        status=202,
        summary="An expired link's page asks for a new claim link, emailed to the order's address.",
        success="A new link was asked for.",
        response=LinkRequested,
        others={"200": ("The refund is no longer due: where it stands.", ClaimView)},
        page=True,
        security=PUBLIC,
        form=NewLinkForm,
        refusals={
            "401": "The link is not genuine (`token_missing`, `token_invalid`).",
            "403": "The token is not a claim link's (`token_wrong_order`).",
            **_FORM_REFUSALS,
            "429": "Too many new links (`rate_limited`, Retry-After).",
        },
    ),
]
