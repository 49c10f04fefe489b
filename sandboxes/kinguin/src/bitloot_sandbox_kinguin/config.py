"""The sandbox's configuration: defaults good for tests, `from_env()` for a process."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Self

from bitloot_sandbox_common.env import ConfigError, EnvReader

ENV_PREFIX = "KINGUIN_SANDBOX_"

__all__ = ["ConfigError", "KinguinSandboxConfig", "ProductSpec", "parse_products"]


DEFAULT_RELEASE_DATE = "2020-01-01"


@dataclass(frozen=True)
class ProductSpec:
    """A product on offer: its price (EUR), how many keys are in stock, its release date
    (``Y-m-d``) and whether it is a preorder (its keys come once it is released)."""

    name: str
    price: Decimal
    stock: int
    kinguin_id: int
    offer_id: str
    is_preorder: bool = False
    release_date: str = DEFAULT_RELEASE_DATE


DEFAULT_PRODUCTS: Mapping[str, ProductSpec] = {
    "5c9b5f6b2539a4e8f172916a": ProductSpec(
        "Counter-Strike: Source Steam CD Key",
        Decimal("2.50"),
        1000,
        1949,
        "5c9b5f6b2539a4e8f172916b",
        release_date="2004-11-01",
    ),
    "5c9b6f0d2539a4e8f17ab8e2": ProductSpec(
        "Minecraft: Java Edition Key",
        Decimal("19.99"),
        500,
        10384,
        "5c9b6f0d2539a4e8f17ab8e3",
        release_date="2011-11-18",
    ),
    "5c9b6a2f2539a4e8f1786a1c": ProductSpec(
        "Steam Gift Card 10 EUR Global Activation Code",
        Decimal("10.50"),
        200,
        22501,
        "5c9b6a2f2539a4e8f1786a1d",
        release_date="2015-06-01",
    ),
    "5c9b5e5e2539a4e8f17270b0": ProductSpec(
        "Hollow Knight Steam CD Key",
        Decimal("4.99"),
        3,
        30377,
        "5c9b5e5e2539a4e8f17270b1",
        release_date="2017-02-24",
    ),
}


@dataclass(frozen=True)
class KinguinSandboxConfig:
    """How the Kinguin sandbox behaves.

    Orders complete `webhook_delay` seconds after they are placed (unless
    `hold_completion`: then they stay processing until ``POST
    /sandbox/orders/{orderId}/complete``; a preorder waits for its product's release),
    then an ``order.status`` webhook goes to `webhook_url` (when set; it may also be set
    at run time with ``POST /sandbox/config``). Every `image_keys_every`-th key issued is
    a base64 image, cycling through PNG, JPEG and GIF (0: text keys only). `callback_*`
    tune webhook retries. More than `rate_limit_per_minute` API calls in 60 s are answered
    429 (0: no limit; `throttle`).
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
    hold_completion: bool = False
    rate_limit_per_minute: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The configuration from `KINGUIN_SANDBOX_*` variables, defaults elsewhere.

        ``KINGUIN_SANDBOX_PRODUCTS`` is JSON: ``{"<productId>": {"name": ..., "price":
        "2.50", "stock": 10}}`` (optionally ``"kinguinId"``, ``"offerId"``,
        ``"isPreorder": true`` and ``"releaseDate": "2031-01-01"``) and replaces the
        default catalogue.
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
            hold_completion=env.boolean("HOLD_COMPLETION", default.hold_completion),
            rate_limit_per_minute=env.integer(
                "RATE_LIMIT_PER_MINUTE", default.rate_limit_per_minute
            ),
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
                is_preorder=preorder(spec.get("isPreorder", False)),
                release_date=release_date(spec.get("releaseDate", DEFAULT_RELEASE_DATE)),
            )
    except (ValueError, KeyError, TypeError, AttributeError, InvalidOperation) as exc:
        raise ConfigError(f"{problem}: {exc}.") from None
    return products


def preorder(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"isPreorder {value!r} is not a boolean")
    return value


def release_date(value: object) -> str:
    """A ``Y-m-d`` date, as Kinguin writes a release date."""
    if not isinstance(value, str):
        raise TypeError(f"releaseDate {value!r} is not a string")
    return date.fromisoformat(value).isoformat()
