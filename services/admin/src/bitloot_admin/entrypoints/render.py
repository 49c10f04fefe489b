"""Rendering a page for the logged-in admin."""

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from bitloot_admin.domain.roles import Role
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.session import csrf_token, set_csrf_cookie


def page(
    web: AdminWeb,
    request: Request,
    name: str,
    context: Mapping[str, object],
    status_code: int = 200,
) -> Response:
    """A page for the logged-in admin, with the CSRF token its forms need, its role and
    what the role lets it do (`can_operate`, `can_own`: the page hides the rest)."""
    token = csrf_token(request)
    role: Role = request.state.role
    values = {
        **context,
        "admin": request.state.admin,
        "role": role.label,
        "can_operate": role.may(Role.OPERATOR),
        "can_own": role.may(Role.OWNER),
        "needs_enrolment": request.state.needs_enrolment,
        "csrf": token,
    }
    response = web.render(name, values, status_code=status_code)
    set_csrf_cookie(response, request, token)
    return response
