"""``GET /admin/``: the home page an operator opens first (and lands on after logging
in): today's and this week's figures, what needs action, and the hourly charts."""

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.render import page
from bitloot_admin.handlers.home import ShowHome

HOME_PATH = "/admin/"


def routes(web: AdminWeb) -> list[BaseRoute]:
    async def home(request: Request) -> Response:
        shown = await ShowHome(web.upstream, web.dead_letters)(datetime.now(UTC))
        return page(web, request, "home.html", {"home": shown, "partial": shown.partial})

    return [Route("/", home, methods=["GET"])]
