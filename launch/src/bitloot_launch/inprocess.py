"""The whole of BitLoot in one process: five services, both provider sandboxes.

Every service runs its production code (settings, migrations, outbox relay, inbox,
consumers, HTTP edge served by uvicorn); only the broker differs: FastStream's in-memory
broker, shared by the five, unless `AMQP_URL` names a real RabbitMQ.

Nothing here says how a service is configured: each one's settings are built from the
environment the wiring table (`bitloot_launch.wiring`) gives its process under `make up`,
so the in-process mode and the processes cannot drift apart.
"""

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
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
from bitloot_fulfillment.settings import Settings as FulfillmentSettings
from bitloot_kinguin_gateway.settings import Settings as GatewaySettings
from bitloot_launch.front import front
from bitloot_launch.infra import Mailbox
from bitloot_launch.wiring import NAMES, Machine, Process, Secrets, env_prefix, processes
from bitloot_payments.settings import Settings as PaymentsSettings
from bitloot_runtime.publisher import create_broker
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import EdgeSettings, load_settings
from bitloot_sandbox_common.serving import serve
from bitloot_sandbox_kinguin.config import KinguinSandboxConfig
from bitloot_sandbox_kinguin.server import running as kinguin_running
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_sandbox_nowpayments.server import running as nowpayments_running
from bitloot_testing.net import free_port

IN_MEMORY_AMQP = "amqp://in-memory/"
ADMIN_USER = "admin"

Build = Callable[..., tuple[ServiceRuntime, Starlette]]

# Each service's app factory and settings class, by its name in the wiring table.
SERVICES: dict[str, tuple[Build, type[EdgeSettings]]] = {
    "payments": (bitloot_payments.bootstrap.build, PaymentsSettings),
    "kinguin-gateway": (bitloot_kinguin_gateway.bootstrap.build, GatewaySettings),
    "fulfillment": (bitloot_fulfillment.bootstrap.build, FulfillmentSettings),
    "delivery": (bitloot_delivery.bootstrap.build, DeliverySettings),
    "admin": (bitloot_admin.bootstrap.build, AdminSettings),
}
# What the in-process run changes in the table: quieter logs, a quicker outbox relay and
# Kinguin's webhooks sooner.
SERVICE_SETTINGS = {"LOG_LEVEL": "WARNING", "OUTBOX_POLL_INTERVAL": "0.5"}
KINGUIN_SANDBOX_SETTINGS = {"WEBHOOK_DELAY": "0.05"}


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
    # The demo owner's TOTP secret: its authenticator app's codes log it in.
    admin_totp_secret: str = field(default="", repr=False)
    # Where customers go: the front router (`bitloot_launch.front`) when one serves the
    # public pages, else payments' own address.
    public: str = ""


def database_url(server_url: str, name: str) -> str:
    """The SQLAlchemy URL of database `name` on the server of `server_url`."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg", path=f"/{name}"))


def settings_of(process: Process, settings_class: type[EdgeSettings]) -> EdgeSettings:
    """The service's settings from the environment the table gives its process: each
    ``<PREFIX>_<NAME>`` variable becomes field ``name`` (the class validates it as it
    validates the environment)."""
    prefix = env_prefix(process.name)
    values = {
        name.removeprefix(prefix).lower(): value
        for name, value in process.env.items()
        if name.startswith(prefix)
    }
    return load_settings(settings_class, **values)


def in_process_machine(
    *,
    postgres_url: str,
    amqp_url: str,
    bus_prefix: str,
    s3_endpoint: str,
    mailbox: Mailbox,
    admin_port: int,
    run_id: str,
    public_url: str | None = None,
) -> Machine:
    """The table's `Machine` for one in-process run: databases ``bitloot_<service>_<run>``,
    a bucket of its own, free ports (the admin's chosen), the customers' links on
    `public_url` if given."""
    ports = {name: free_port() for name in NAMES}
    ports["admin"] = admin_port
    databases = {
        service: database_url(postgres_url, f"bitloot_{service.replace('-', '_')}_{run_id}")
        for service in SERVICES
    }
    return Machine(
        postgres_url=postgres_url,
        amqp_url=amqp_url,
        bus_prefix=bus_prefix,
        database_prefix="",
        s3_endpoint=s3_endpoint,
        s3_bucket=f"bitloot-demo-{run_id}",
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
        ports=ports,
        admin_username=ADMIN_USER,
        service_settings=SERVICE_SETTINGS,
        databases=databases,
        kinguin_sandbox_settings=KINGUIN_SANDBOX_SETTINGS,
        public_url=public_url,
    )


@asynccontextmanager
async def running_stack(
    *,
    postgres_url: str,
    s3_endpoint: str,
    mailbox: Mailbox,
    admin_port: int,
    run_id: str,
    bus_prefix: str = "",
    public_port: int | None = None,
) -> AsyncIterator[Stack]:
    """Start the sandboxes and the five services; stop them all when the block ends.

    With `public_port`, the front router (`bitloot_launch.front`) serves the admin and
    the customer's pages on that one port too, and the links customers are given point
    there."""
    amqp_url = os.environ.get("AMQP_URL")
    public_url = None if public_port is None else f"http://127.0.0.1:{public_port}"
    machine = in_process_machine(
        postgres_url=postgres_url,
        amqp_url=amqp_url or IN_MEMORY_AMQP,
        bus_prefix=bus_prefix,
        s3_endpoint=s3_endpoint,
        mailbox=mailbox,
        admin_port=admin_port,
        run_id=run_id,
        public_url=public_url,
    )
    keys = Secrets.generate()
    table = {process.name: process for process in processes(machine, keys)}
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            nowpayments_running(NowPaymentsSandboxConfig.from_env(table["nowpayments-sandbox"].env))
        )
        await stack.enter_async_context(
            kinguin_running(KinguinSandboxConfig.from_env(table["kinguin-sandbox"].env))
        )
        broker: RabbitBroker | None = None
        if amqp_url is None:
            broker = create_broker(IN_MEMORY_AMQP, prefetch=16)
        apps = {
            name: build(settings_of(table[name], settings_class), in_memory_broker=broker)
            for name, (build, settings_class) in SERVICES.items()
        }
        if broker is not None:
            # Enter the in-memory broker only once every service has subscribed.
            await stack.enter_async_context(TestRabbitBroker(broker))
        for name, (_runtime, app) in apps.items():
            await stack.enter_async_context(
                serve(app, "127.0.0.1", machine.ports[name], log_config=None)
            )
        if public_port is not None:
            router = front({name: app for name, (_runtime, app) in apps.items()})
            await stack.enter_async_context(
                serve(router, "127.0.0.1", public_port, log_config=None)
            )
        yield stack_of(machine, keys, in_memory=broker is not None)


def stack_of(machine: Machine, keys: Secrets, *, in_memory: bool) -> Stack:
    """Where the table puts everything, and the keys a client of the stack needs."""
    return Stack(
        payments=machine.url("payments"),
        kinguin_gateway=machine.url("kinguin-gateway"),
        fulfillment=machine.url("fulfillment"),
        delivery=machine.url("delivery"),
        admin=machine.url("admin"),
        nowpayments_sandbox=machine.url("nowpayments-sandbox"),
        kinguin_sandbox=machine.url("kinguin-sandbox"),
        internal_token=keys.internal_token,
        admin_password=keys.admin_password,
        admin_totp_secret=keys.admin_totp_secret,
        in_memory=in_memory,
        order_token_private_key=keys.order_token_private_key,
        claim_token_private_key=keys.claim_token_private_key,
        admin_session_private_key=keys.admin_session_private_key,
        public=machine.public("payments"),
    )
