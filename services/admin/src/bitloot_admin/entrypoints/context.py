"""What the admin's routes share: the database, the other services, sessions, pages
(`AdminWeb`, read from the app state with `bitloot_runtime.app.dependencies`), and how
the API answers the use cases' exceptions (`REFUSALS`)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.responses import HTMLResponse

from bitloot_admin.adapters.upstream import UpstreamClient
from bitloot_admin.entrypoints import formats
from bitloot_admin.entrypoints.session import SessionTokens
from bitloot_admin.handlers.accounts import LoginLimits
from bitloot_admin.handlers.hand_delivery import DeliverByHand
from bitloot_admin.handlers.health import Bus
from bitloot_admin.handlers.orders import OrderNotFound
from bitloot_admin.handlers.ports import AdminWork
from bitloot_admin.handlers.refunds import RefundNotFound
from bitloot_admin.handlers.repairs import ListDeadLetters, ReplayDeadLetter
from bitloot_admin.handlers.second_factor import EnrolmentRefused
from bitloot_runtime.http import Refusal
from bitloot_runtime.idempotency import IdempotencyStore, new_key


@dataclass(frozen=True)
class AdminWeb:
    """What the admin's routes need: its database, the other services, sessions, pages."""

    work: Callable[[], AdminWork]
    upstream: UpstreamClient
    tokens: SessionTokens
    templates: Environment
    limits: LoginLimits
    dead_letters: ListDeadLetters
    replay_letter: ReplayDeadLetter
    bus: Bus
    timeout: float
    hand_delivery: DeliverByHand
    keys: IdempotencyStore

    def render(
        self, name: str, context: Mapping[str, object], status_code: int = 200
    ) -> HTMLResponse:
        """A page from the package's templates; every value is HTML-escaped."""
        html = self.templates.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status_code)


def templates() -> Environment:
    """The package's templates, autoescaped, with the filters that format what they
    show (`formats`) and ``idempotency_key()``, a new key for each action form."""
    environment = Environment(
        loader=PackageLoader("bitloot_admin.entrypoints", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
    )
    environment.globals["idempotency_key"] = new_key
    return formats.install(environment)


REFUSALS = {
    OrderNotFound: Refusal(404, "order_not_found"),
    RefundNotFound: Refusal(404, "refund_not_found"),
    EnrolmentRefused: Refusal(lambda exc: 409 if exc.code == "totp_not_pending" else 422),
}
