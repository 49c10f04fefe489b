"""The logged-in admin's own account: who it is and its role (``GET /admin/api/account``),
and enrolling its TOTP second factor (``/admin/account/totp`` and
``/admin/api/account/totp``): the secret as an ``otpauth://`` URI, a QR code of it and
the secret in text, then a first code to confirm, which answers the ten recovery codes
once."""

from collections.abc import Awaitable, Callable

import segno
from markupsafe import Markup
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.roles import requires_totp
from bitloot_admin.entrypoints.api_actions import csrf
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.params import MAX_FORM, read_form
from bitloot_admin.entrypoints.render import page
from bitloot_admin.entrypoints.session import check_csrf
from bitloot_admin.handlers.second_factor import ConfirmTotp, EnrolmentRefused, ShowEnrolment
from bitloot_runtime.http import HttpError, parse_body, read_json

Endpoint = Callable[[Request], Awaitable[Response]]


class Confirmation(BaseModel):
    code: str = Field(min_length=1, max_length=32)


def routes(web: AdminWeb) -> list[BaseRoute]:
    return [
        Route("/api/account", _whoami, methods=["GET"]),
        Route("/api/account/totp", _api_enrolment(web), methods=["GET"]),
        Route("/api/account/totp/confirm", _api_confirm(web), methods=["POST"]),
        Route("/account/totp", _enrolment_page(web), methods=["GET"]),
        Route("/account/totp", _confirm_page(web), methods=["POST"]),
    ]


async def _whoami(request: Request) -> Response:
    role = request.state.role
    return JSONResponse(
        {
            "username": request.state.admin,
            "role": role.label,
            "totp_required": requires_totp(role),
            "totp_enrolment_required": request.state.needs_enrolment,
        }
    )


def _api_enrolment(web: AdminWeb) -> Endpoint:
    async def enrolment(request: Request) -> Response:
        found = await ShowEnrolment(web.work)(request.state.admin)
        return JSONResponse(
            {
                "enrolled": found.enrolled,
                "secret": found.secret,
                "uri": found.uri,
                "recovery_codes_left": found.recovery_codes_left,
            }
        )

    return enrolment


def _api_confirm(web: AdminWeb) -> Endpoint:
    async def confirm(request: Request) -> Response:
        csrf(request)
        _raw, document = await read_json(request, MAX_FORM)
        code = parse_body(Confirmation, document).code
        try:
            codes = await ConfirmTotp(web.work)(request.state.admin, code)
        except EnrolmentRefused as exc:
            status = 409 if exc.code == "totp_not_pending" else 422
            raise HttpError(status, exc.code, str(exc)) from None
        return JSONResponse({"recovery_codes": codes})

    return confirm


def _enrolment_page(web: AdminWeb) -> Endpoint:
    async def enrolment(request: Request) -> Response:
        return await _show(web, request, error=None, status_code=200)

    return enrolment


def _confirm_page(web: AdminWeb) -> Endpoint:
    async def confirm(request: Request) -> Response:
        form = await read_form(request)
        check_csrf(request, form.get("csrf"))
        try:
            codes = await ConfirmTotp(web.work)(request.state.admin, form.get("code", "")[:32])
        except EnrolmentRefused as exc:
            return await _show(web, request, error=str(exc), status_code=422)
        request.state.needs_enrolment = False
        context = {"enrolment": None, "qr": None, "codes": codes, "error": None}
        return page(web, request, "account_totp.html", context)

    return confirm


async def _show(web: AdminWeb, request: Request, error: str | None, status_code: int) -> Response:
    found = await ShowEnrolment(web.work)(request.state.admin)
    # segno's own SVG, of the URI's QR modules: no text of ours is in it to escape.
    qr = Markup(segno.make(found.uri, error="m").svg_inline(scale=4)) if found.uri else None  # noqa: S704
    context = {"enrolment": found, "qr": qr, "codes": None, "error": error}
    return page(web, request, "account_totp.html", context, status_code)
