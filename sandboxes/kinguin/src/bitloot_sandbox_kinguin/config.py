"""The sandbox's configuration: defaults good for tests, `from_env()` for a process."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Self

from bitloot_sandbox_common.env import ConfigError, EnvReader

ENV_PREFIX = "KINGUIN_SANDBOX_"

__all__ = ["ConfigError", "KinguinSandboxConfig", "ProductSpec", "parse_products"]


@dataclass(frozen=True)
class ProductSpec:
    """A product on offer: its price (EUR) and how many keys are in stock."""

    name: str
    price: Decimal
    stock: int
    kinguin_id: int
    offer_id: str


DEFAULT_PRODUCTS: Mapping[str, ProductSpec] = {
    "5c9b5f6b2539a4e8f172916a": ProductSpec(
        "Counter-Strike: Source Steam CD Key",
        Decimal("2.50"),
        1000,
        1949,
        "5c9b5f6b2539a4e8f172916b",
    ),
    "5c9b6f0d2539a4e8f17ab8e2": ProductSpec(
        "Minecraft: Java Edition Key", Decimal("19.99"), 500, 10384, "5c9b6f0d2539a4e8f17ab8e3"
    ),
    "5c9b6a2f2539a4e8f1786a1c": ProductSpec(
        "Steam Gift Card 10 EUR Global Activation Code",
        Decimal("10.50"),
        200,
        22501,
        "5c9b6a2f2539a4e8f1786a1d",
    ),
    "5c9b5e5e2539a4e8f17270b0": ProductSpec(
        "Hollow Knight Steam CD Key", Decimal("4.99"), 3, 30377, "5c9b5e5e2539a4e8f17270b1"
    ),
}


@dataclass(frozen=True)
class KinguinSandboxConfig:
    """How the Kinguin sandbox behaves.

    Orders complete `webhook_delay` seconds after they are placed, then an
    ``order.status`` webhook goes to `webhook_url` (when set; it may also be set at run
    time with ``POST /sandbox/config``). Every `image_keys_every`-th key issued is a
    base64 PNG (0: text keys only). `callback_*` tune webhook retries.
    """

    api_key: str = "sandbox-kinguin-api-key"
    webhook_secret: str = "sandbox-kinguin-webhook-secret"  # noqa: S105 - a well-known test value
    webhook_url: str | None = None
    webhook_delay: float = 0.3
    host: str = "127.0.0.1"
    port: int = 8702
    products: Mapping[str, ProductSpec] = field(default_factory=lambda: dict(DEFAULT_PRODUCTS))
    image_keys_every: int = 0
    callback_attempts: int = 4
    callback_backoff: float = 0.2
    callback_timeout: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The configuration from `KINGUIN_SANDBOX_*` variables, defaults elsewhere.

        ``KINGUIN_SANDBOX_PRODUCTS`` is JSON: ``{"<productId>": {"name": ..., "price":
        "2.50", "stock": 10}}`` and replaces the default catalogue.
        """
        env = EnvReader(ENV_PREFIX, environ)
        default = cls()
        raw_products = env.optional("PRODUCTS")
        return cls(
            api_key=env.text("API_KEY", default.api_key),
            webhook_secret=env.text("WEBHOOK_SECRET", default.webhook_secret),
            webhook_url=env.optional("WEBHOOK_URL"),
            webhook_delay=env.number("WEBHOOK_DELAY", default.webhook_delay),
            host=env.text("HOST", default.host),
            port=env.integer("PORT", default.port),
            products=parse_products(raw_products) if raw_products else default.products,
            image_keys_every=env.integer("IMAGE_KEYS_EVERY", default.image_keys_every),
            callback_attempts=env.integer("CALLBACK_ATTEMPTS", default.callback_attempts),
            callback_backoff=env.number("CALLBACK_BACKOFF", default.callback_backoff),
            callback_timeout=env.number("CALLBACK_TIMEOUT", default.callback_timeout),
        )


def parse_products(raw: str) -> dict[str, ProductSpec]:
    """The catalogue from ``KINGUIN_SANDBOX_PRODUCTS`` JSON."""
    problem = f"{ENV_PREFIX}PRODUCTS has value {raw!r}. Not a valid catalogue"
    try:
        data = json.loads(raw)
        products = {}
        for index, (product_id, spec) in enumerate(data.items(), start=1):
            products[product_id] = ProductSpec(
                name=str(spec["name"]),
                price=Decimal(str(spec["price"])),
                stock=int(spec["stock"]),
                kinguin_id=int(spec.get("kinguinId", 90000 + index)),
                offer_id=str(spec.get("offerId", product_id[:-1] + "f")),
            )
    except (ValueError, KeyError, TypeError, AttributeError, InvalidOperation) as exc:
        raise ConfigError(f"{problem}: {exc}.") from None
    return products
