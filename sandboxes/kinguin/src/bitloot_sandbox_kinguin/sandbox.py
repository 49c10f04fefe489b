"""The sandbox's state and behaviour, independent of HTTP: `app.state.sandbox`."""

from dataclasses import dataclass
from decimal import Decimal

import httpx

from bitloot_sandbox_common.callbacks import CallbackSender, Tasks
from bitloot_sandbox_kinguin.config import KinguinSandboxConfig
from bitloot_sandbox_kinguin.faults import KinguinFaults
from bitloot_sandbox_kinguin.store import Line, Order, Store
from bitloot_sandbox_kinguin.webhooks import Completer


class KinguinError(Exception):
    """An answer in Kinguin's error format: ``{kind, status, title, detail}``."""

    def __init__(self, status: int, kind: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail


@dataclass(frozen=True)
class Requested:
    """One product of an order request (validated for shape, not for stock)."""

    product_id: str
    qty: int
    price: Decimal | None


def unavailable(detail: str) -> KinguinError:
    """The error Kinguin answers when a product cannot be bought as asked."""
    return KinguinError(400, "ProductUnavailable", "Product unavailable", detail)


class KinguinSandbox:
    """Catalogue, orders, faults and the webhook machinery of one sandbox instance."""

    def __init__(
        self,
        config: KinguinSandboxConfig,
        callback_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.store = Store(dict(config.products), config.image_keys_every)
        self.faults = KinguinFaults()
        # Every API call received, as "METHOD /path", in order (``GET /sandbox/calls``).
        self.calls: list[str] = []
        self.tasks = Tasks()
        self.sender = CallbackSender.configured(config, callback_transport)
        self.completer = Completer(
            secret=config.webhook_secret,
            webhook_url=config.webhook_url,
            delay=config.webhook_delay,
            sender=self.sender,
            tasks=self.tasks,
            faults=self.faults,
        )

    def place_order(self, requested: list[Requested], external_id: str | None) -> Order:
        """The order for `external_id` if there is one (a duplicate attempt), else a new
        order, completed later; `KinguinError` if a product is not available as asked."""
        existing = self.store.by_external_id.get(external_id) if external_id else None
        if existing is not None:
            existing.duplicate_attempts += 1
            return existing
        lines = [self._line(item) for item in requested]
        total = sum((line.price * line.qty for line in lines), Decimal(0))
        if total > self.store.balance:
            raise KinguinError(
                400,
                "InsufficientBalance",
                "Insufficient balance",
                "There are not enough funds to place an order.",
            )
        order = self.store.place(lines, external_id)
        self.completer.start(order)
        return order

    def _line(self, item: Requested) -> Line:
        spec = self.store.products.get(item.product_id)
        if spec is None:
            raise unavailable(f"Product {item.product_id} does not exist")
        if item.product_id in self.faults.out_of_stock or spec.stock < item.qty:
            raise unavailable(f"Product {item.product_id} is out of stock")
        if item.price is not None and item.price < spec.price:
            raise unavailable(
                f"Product {item.product_id}: price changed to {spec.price}, offered {item.price}"
            )
        offered = spec.price if item.price is None else item.price
        return Line(item.product_id, spec, item.qty, spec.price, offered)

    async def idle(self) -> None:
        """Wait until every order under way is completed and its webhooks sent."""
        await self.tasks.idle()

    async def aclose(self) -> None:
        """Stop sending and close the HTTP client (the app's lifespan does this)."""
        await self.tasks.aclose()
        await self.sender.aclose()
