"""The logged-in admin's own account: who it is and its role (``GET /admin/api/account``),
and enrolling its TOTP second factor (``/admin/account/totp`` and
``/admin/api/account/totp``): the secret as an ``otpauth://`` URI, a QR code of it and
the secret in text, then a first code to confirm, which answers the ten recovery codes
once."""

import segno
from markupsafe import Markup
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.roles import requires_totp
from bitloot_admin.entrypoints.api_actions import csrf
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.openapi import route
from bitloot_admin.entrypoints.params import MAX_FORM, read_form
from bitloot_admin.entrypoints.render import page
from bitloot_admin.entrypoints.session import check_csrf
from bitloot_admin.handlers.second_factor import ConfirmTotp, EnrolmentRefused, ShowEnrolment
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import answer, parse_body, read_json
from bitloot_runtime.idempotency import Endpoint


class Confirmation(BaseModel):
    code: str = Field(min_length=1, max_length=32)


class Account(BaseModel):
    username: str
    role: str = Field(description="viewer, operator or owner.")
    totp_required: bool
    totp_enrolment_required: bool


class TotpEnrolment(BaseModel):
    enrolled: bool
    secret: str | None = Field(description="The pending secret (base32), until confirmed.")
    uri: str | None = Field(description="The pending secret's `otpauth://` URI.")
    recovery_codes_left: int


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="Single-use, shown only now.")


def routes(web: AdminWeb) -> list[BaseRoute]:
    return [
        *ROUTES,
        Route("/account/totp", _enrolment_page(web), methods=["GET"]),
        Route("/account/totp", _confirm_page(web), methods=["POST"]),
    ]


async def whoami(request: Request) -> Response:
    role = request.state.role
    return answer(
        Account(
            username=request.state.admin,
            role=role.label,
            totp_required=requires_totp(role),
            totp_enrolment_required=request.state.needs_enrolment,
        )
    )


async def enrolment(request: Request) -> Response:
    found = await ShowEnrolment(dependencies(request, AdminWeb).work)(request.state.admin)
    return answer(TotpEnrolment.model_validate(found, from_attributes=True))


async def confirm(request: Request) -> Response:
    csrf(request)
    _raw, document = await read_json(request, MAX_FORM)
    code = parse_body(Confirmation, document).code
    work = dependencies(request, AdminWeb).work
    return answer(RecoveryCodes(recovery_codes=await ConfirmTotp(work)(request.state.admin, code)))


ROUTES = [
    route(
        "/api/account",
        whoami,
        summary="The logged-in admin: its username, its role (viewer, operator or owner) and "
        "whether it must enrol a second factor before anything else.",
        response=Account,
    ),
    route(
        "/api/account/totp",
        enrolment,
        summary="The admin's TOTP enrolment: `enrolled` and its recovery codes left, or the "
        "pending `secret` (base32) and its `otpauth://` `uri` to add to an app.",
        response=TotpEnrolment,
    ),
    route(
        "/api/account/totp/confirm",
        confirm,
        method="POST",
        summary="Confirm the pending secret with the app's current code; answers the ten "
        "single-use `recovery_codes`, shown only now.",
        response=RecoveryCodes,
        body=Confirmation,
        refusals={
            "409": "Nothing to confirm: enrolled already (`totp_not_pending`).",
            "422": "A wrong code (`invalid_totp`) or an invalid body.",
        },
    ),
]


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
