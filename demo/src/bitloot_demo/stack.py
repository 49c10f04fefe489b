"""The whole of BitLoot in one process: five services, both provider sandboxes.

Every service runs its production code (settings, migrations, outbox relay, inbox,
consumers, HTTP edge served by uvicorn); only the broker differs: FastStream's in-memory
broker, shared by the five, unless `AMQP_URL` names a real RabbitMQ.
"""

import base64
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from faststream.rabbit import RabbitBroker
from faststream.rabbit.testing import TestRabbitBroker
from starlette.applications import Starlette

import bitloot_admin.bootstrap
import bitloot_delivery.bootstrap
import bitloot_fulfillment.bootstrap
import bitloot_kinguin_gateway.bootstrap
import bitloot_payments.bootstrap
from bitloot_admin.settings import Settings as AdminSettings
from bitloot_delivery.settings import Settings as DeliverySettings
from bitloot_demo.serving import serving
from bitloot_fulfillment.settings import Settings as FulfillmentSettings
from bitloot_kinguin_gateway.settings import Settings as GatewaySettings
from bitloot_launch.infra import Mailbox
from bitloot_payments.settings import Settings as PaymentsSettings
from bitloot_runtime import sealing, tokens
from bitloot_runtime.publisher import create_broker
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import EdgeSettings, load_settings
from bitloot_sandbox_kinguin.config import KinguinSandboxConfig
from bitloot_sandbox_kinguin.server import running as kinguin_running
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_sandbox_nowpayments.server import running as nowpayments_running
from bitloot_testing.net import free_port

IN_MEMORY_AMQP = "amqp://in-memory/"
ADMIN_USER = "admin"

Build = Callable[..., tuple[ServiceRuntime, Starlette]]

# (name, database, build, settings class) of each service, in start-up order.
SERVICES: tuple[tuple[str, str, Build, type[EdgeSettings]], ...] = (
    ("payments", "payments", bitloot_payments.bootstrap.build, PaymentsSettings),
    ("gateway", "kinguin_gateway", bitloot_kinguin_gateway.bootstrap.build, GatewaySettings),
    ("fulfillment", "fulfillment", bitloot_fulfillment.bootstrap.build, FulfillmentSettings),
    ("delivery", "delivery", bitloot_delivery.bootstrap.build, DeliverySettings),
    ("admin", "admin", bitloot_admin.bootstrap.build, AdminSettings),
)


@dataclass(frozen=True)
class Stack:
    """Where everything listens, and what the demo needs to drive it."""

    payments: str
    kinguin_gateway: str
    fulfillment: str
    delivery: str
    admin: str
    nowpayments_sandbox: str
    kinguin_sandbox: str
    internal_token: str = field(repr=False)
    admin_password: str = field(repr=False)
    in_memory: bool
    # The signing keys (base64 Ed25519), for tests that mint expired or foreign tokens.
    order_token_private_key: str = field(default="", repr=False)
    # Delivery's claim-link signing key (key id c1), for tests that claim a refund.
    claim_token_private_key: str = field(default="", repr=False)
    admin_session_private_key: str = field(default="", repr=False)


def database_url(server_url: str, name: str) -> str:
    """The SQLAlchemy URL of database `name` on the server of `server_url`."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg", path=f"/{name}"))


def _secret(length: int = 32) -> str:
    return secrets.token_urlsafe(length)


@asynccontextmanager
async def running_stack(
    *, postgres_url: str, s3_endpoint: str, mailbox: Mailbox, admin_port: int, run_id: str
) -> AsyncIterator[Stack]:
    """Start the sandboxes and the five services; stop them all when the block ends."""
    amqp_url = os.environ.get("AMQP_URL")
    ports = {name: free_port() for name in ("payments", "gateway", "fulfillment", "delivery")}
    ports["admin"] = admin_port
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    internal_token = _secret()
    admin_password = _secret(12)
    np_config = NowPaymentsSandboxConfig(
        api_key=_secret(),
        ipn_secret=_secret(),
        password=_secret(),
        port=0,
        auto_pay=True,
        ipn_delay=0.05,
    )
    kg_config = KinguinSandboxConfig(
        api_key=_secret(),
        webhook_secret=_secret(),
        webhook_url=f"{urls['gateway']}/kinguin/webhooks",
        port=0,
        webhook_delay=0.05,
    )
    private_hpke, public_hpke = sealing.generate_key_pair()
    private_token_key, public_token_key = tokens.generate_key_pair()
    private_admin_key, public_admin_key = tokens.generate_key_pair()
    private_claim_key, public_claim_key = tokens.generate_key_pair()
    common: dict[str, Any] = {
        "amqp_url": amqp_url or IN_MEMORY_AMQP,
        "internal_token": internal_token,
        "log_level": "WARNING",
        "outbox_poll_interval": 0.5,
    }

    def db(service: str) -> str:
        return database_url(postgres_url, f"bitloot_{service}_{run_id}")

    async with AsyncExitStack() as stack:
        np_url = await stack.enter_async_context(nowpayments_running(np_config))
        kg_url = await stack.enter_async_context(kinguin_running(kg_config))
        own: dict[str, dict[str, Any]] = {
            "payments": {
                "nowpayments_api_url": np_url,
                "nowpayments_api_key": np_config.api_key,
                "nowpayments_ipn_secret": np_config.ipn_secret,
                "nowpayments_email": np_config.email,
                "nowpayments_password": np_config.password,
                "nowpayments_2fa_secret": np_config.two_fa_secret,
                "public_url": urls["payments"],
                "order_token_private_key": private_token_key,
                "claim_token_public_keys": f"c1:{public_claim_key}",
            },
            "gateway": {
                "kinguin_api_url": kg_url,
                "kinguin_api_key": kg_config.api_key,
                "webhook_secret": kg_config.webhook_secret,
                "delivery_public_key": public_hpke,
                "delivery_key_id": "d1",
            },
            "fulfillment": {
                "order_token_public_keys": f"k1:{public_token_key}",
                "admin_token_public_keys": f"a1:{public_admin_key}",
            },
            "delivery": {
                "hpke_private_keys": f"d1:{private_hpke}",
                "kek_current_id": "k1",
                "keks": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
                "s3_endpoint_url": s3_endpoint,
                "s3_region": "us-east-1",
                "s3_bucket": f"bitloot-demo-{run_id}",
                "s3_access_key_id": "demo",
                "s3_secret_access_key": _secret(),
                "s3_create_bucket": True,
                "smtp_host": mailbox.host,
                "smtp_port": mailbox.port,
                "mail_from": "keys@bitloot.test",
                "public_url": urls["delivery"],
                "link_secret": _secret(),
                "order_token_public_keys": f"k1:{public_token_key}",
                "claim_token_private_key": private_claim_key,
                "refund_claim_url": f"{urls['payments']}/refunds/claim",
            },
            "admin": {
                "session_private_key": private_admin_key,
                "payments_url": urls["payments"],
                "kinguin_gateway_url": urls["gateway"],
                "fulfillment_url": urls["fulfillment"],
                "delivery_url": urls["delivery"],
                "delivery_public_key": public_hpke,
                "delivery_key_id": "d1",
                "initial_username": ADMIN_USER,
                "initial_password": admin_password,
            },
        }
        broker: RabbitBroker | None = None
        if amqp_url is None:
            broker = create_broker(IN_MEMORY_AMQP, prefetch=16)
        apps = {
            name: build(
                load_settings(
                    settings_class,
                    **common,
                    database_url=db(database),
                    http_port=ports[name],
                    **own[name],
                ),
                in_memory_broker=broker,
            )
            for name, database, build, settings_class in SERVICES
        }
        if broker is not None:
            # Enter the in-memory broker only once every service has subscribed.
            await stack.enter_async_context(TestRabbitBroker(broker))
        for name, (_runtime, app) in apps.items():
            await stack.enter_async_context(serving(app, ports[name]))
        yield Stack(
            payments=urls["payments"],
            kinguin_gateway=urls["gateway"],
            fulfillment=urls["fulfillment"],
            delivery=urls["delivery"],
            admin=f"http://127.0.0.1:{admin_port}",
            nowpayments_sandbox=np_url,
            kinguin_sandbox=kg_url,
            internal_token=internal_token,
            admin_password=admin_password,
            in_memory=broker is not None,
            order_token_private_key=private_token_key,
            claim_token_private_key=private_claim_key,
            admin_session_private_key=private_admin_key,
        )
