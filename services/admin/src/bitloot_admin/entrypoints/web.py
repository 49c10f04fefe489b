"""The admin's web app: everything under /admin, behind the session guard, each route
behind the role `access.ROUTE_ROLES` names for it; its endpoints read the `AdminWeb`
from its state, and its refusals are answered by `context.REFUSALS`."""

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bitloot_admin.domain.roles import Role
from bitloot_admin.entrypoints import (
    access,
    account,
    api,
    api_actions,
    api_refunds,
    auth,
    hand_delivery,
    openapi,
    pages,
    pages_home,
)
from bitloot_admin.entrypoints.context import REFUSALS, AdminWeb
from bitloot_admin.entrypoints.render import page
from bitloot_admin.entrypoints.session import AdminGuard
from bitloot_runtime.http import EXCEPTION_HANDLERS, HttpError, error_response, refusal_handlers
from bitloot_runtime.openapi import openapi_routes


def admin_routes(web: AdminWeb) -> list[BaseRoute]:
    """Every route under /admin, as declared (before the roles are enforced)."""
    declared = [
        *pages_home.routes(web),
        *auth.routes(web),
        *account.routes(web),
        *pages.routes(web),
        *api.ROUTES,
        *api_actions.ROUTES,
        *api_refunds.ROUTES,
        *hand_delivery.routes(web),
    ]
    return [*declared, *openapi_routes(openapi.describe(declared))]


def routes(web: AdminWeb) -> list[BaseRoute]:
    """``/admin`` (a redirect to the home page) and the guarded app mounted under it."""

    def forbidden(request: Request, required: Role) -> Response:
        role: Role = request.state.role
        detail = f"Your role ({role.label}) cannot do this; it needs {required.label}."
        if access.is_api(request):
            return error_response(HttpError(403, "forbidden_role", detail))
        return page(web, request, "error.html", {"error": detail}, status_code=403)

    inner = Starlette(
        routes=access.guard_routes(admin_routes(web), forbidden),
        middleware=[Middleware(AdminGuard, tokens=web.tokens, work=web.work)],
        exception_handlers={**refusal_handlers(REFUSALS), **EXCEPTION_HANDLERS},
    )
    inner.state.dependencies = web
    return [Route("/admin", _to_home, methods=["GET"]), Mount("/admin", app=inner)]


async def _to_home(_request: Request) -> Response:
    return RedirectResponse(pages_home.HOME_PATH, status_code=303)
