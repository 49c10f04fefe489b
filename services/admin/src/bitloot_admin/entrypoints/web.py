"""The admin's web app: everything under /admin, behind the session guard."""

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bitloot_admin.entrypoints import api, auth, hand_delivery, openapi, pages, pages_home
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.session import AdminGuard
from bitloot_runtime.http import EXCEPTION_HANDLERS


def routes(web: AdminWeb) -> list[BaseRoute]:
    """``/admin`` (a redirect to the home page) and the guarded app mounted under it."""
    inner = Starlette(
        routes=[
            *pages_home.routes(web),
            *auth.routes(web),
            *pages.routes(web),
            *api.routes(web),
            *hand_delivery.routes(web),
            *openapi.routes(),
        ],
        middleware=[Middleware(AdminGuard, tokens=web.tokens)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    return [Route("/admin", _to_home, methods=["GET"]), Mount("/admin", app=inner)]


async def _to_home(_request: Request) -> Response:
    return RedirectResponse(pages_home.HOME_PATH, status_code=303)
