"""The wiring table: each provider sandbox and each service, with the environment it
needs, for a single machine.

It is the only description of how BitLoot is configured on one machine: `make up`, the
multi-process tests, bench and chaos start these processes, and the in-process demo builds
each service's settings from the same environment (`settings_of`), so none of them can
drift apart. The secrets are generated (`Secrets.generate`) and never written into the tree.
"""

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bitloot_runtime import sealing, tokens

HPKE_KEY_ID = "d1"
KEK_ID = "k1"
ORDER_TOKEN_KEY_ID = "o1"  # noqa: S105 - a key id, not a key
# Delivery signs refund claim links with it; payments verifies them.
CLAIM_TOKEN_KEY_ID = "c1"  # noqa: S105 - a key id, not a key
ADMIN_SESSION_KEY_ID = "a1"
# The NOWPayments account the sandbox plays (its login lists payments for reconciliation).
NOWPAYMENTS_ACCOUNT = "shop@bitloot.localhost"


@dataclass(frozen=True)
class Secrets:
    """Every secret of a single-machine BitLoot, shared by the processes that need it."""

    internal_token: str
    nowpayments_api_key: str
    nowpayments_ipn_secret: str
    kinguin_api_key: str
    kinguin_webhook_secret: str
    order_token_private_key: str
    order_token_public_key: str
    hpke_private_key: str
    hpke_public_key: str
    kek: str
    link_secret: str
    s3_secret_access_key: str
    admin_session_private_key: str
    admin_session_public_key: str
    admin_password: str
    # Added later than the others: secrets files written before it get a fresh one.
    nowpayments_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    # The account's 2FA (TOTP) secret that verifies refund payouts: base32, 160 bits.
    nowpayments_2fa_secret: str = field(
        default_factory=lambda: base64.b32encode(secrets.token_bytes(20)).decode()
    )
    claim_token_private_key: str = field(default_factory=lambda: tokens.generate_key_pair()[0])
    # The demo owner's TOTP secret (owners log in with a second factor): base32, 160 bits.
    admin_totp_secret: str = field(
        default_factory=lambda: base64.b32encode(secrets.token_bytes(20)).decode()
    )

    @classmethod
    def generate(cls) -> "Secrets":
        hpke_private, hpke_public = sealing.generate_key_pair()
        order_private, order_public = tokens.generate_key_pair()
        admin_private, admin_public = tokens.generate_key_pair()
        text = secrets.token_urlsafe
        return cls(
            internal_token=text(32),
            nowpayments_api_key=text(24),
            nowpayments_ipn_secret=text(32),
            kinguin_api_key=text(24),
            kinguin_webhook_secret=text(32),
            order_token_private_key=order_private,
            order_token_public_key=order_public,
            hpke_private_key=hpke_private,
            hpke_public_key=hpke_public,
            kek=base64.b64encode(secrets.token_bytes(32)).decode(),
            link_secret=text(32),
            s3_secret_access_key=text(30),
            admin_session_private_key=admin_private,
            admin_session_public_key=admin_public,
            admin_password=text(12),
        )

    @property
    def claim_token_public_keys(self) -> str:
        """Payments' setting: ``kid:base64`` of delivery's claim-link public key."""
        public = tokens.load_private_key(self.claim_token_private_key).public_key()
        return f"{CLAIM_TOKEN_KEY_ID}:{base64.b64encode(public.public_bytes_raw()).decode()}"

    @property
    def order_token_public_keys(self) -> str:
        """The verifiers' setting: ``kid:base64`` of the order-token public key."""
        return f"{ORDER_TOKEN_KEY_ID}:{self.order_token_public_key}"

    @property
    def admin_token_public_keys(self) -> str:
        """The verifiers' setting: ``kid:base64`` of the admin-session public key."""
        return f"{ADMIN_SESSION_KEY_ID}:{self.admin_session_public_key}"

    @classmethod
    def load_or_create(cls, path: Path) -> "Secrets":
        """The secrets kept in `path` (readable by the owner only), created on first use:
        a restart must keep the keys that encrypted what the databases already hold."""
        if path.exists():
            return cls(**json.loads(path.read_text()))
        created = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(asdict(created), indent=2))
        return created


@dataclass(frozen=True)
class Machine:
    """Where the shared servers are, and how this run names its databases and queues."""

    postgres_url: str  # the server's administrative URL, any database
    amqp_url: str
    bus_prefix: str
    database_prefix: str
    s3_endpoint: str
    s3_bucket: str
    smtp_host: str
    smtp_port: int
    ports: dict[str, int]
    admin_username: str = "admin"
    # Settings given to every service (names without the prefix), e.g. short retry delays.
    service_settings: Mapping[str, str] = field(default_factory=dict)
    # Databases made elsewhere (a test's), by service; the others are named by the prefix.
    databases: Mapping[str, str] = field(default_factory=dict)
    # Settings of the Kinguin sandbox (names without KINGUIN_SANDBOX_), e.g. its catalogue.
    kinguin_sandbox_settings: Mapping[str, str] = field(default_factory=dict)
    # Instances per process name (replicas, as a Deployment's); 1 when not named. The
    # services share their state through PostgreSQL and the bus; a sandbox keeps its state
    # in memory, so replicate services only.
    instances: Mapping[str, int] = field(default_factory=dict)
    # The one address customers use when a router serves the public pages of several
    # services there (the demo's `bitloot_launch.front`); None: each service's own.
    public_url: str | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def public(self, name: str) -> str:
        """The base of the links service `name` hands to customers (in emails, to
        NOWPayments): the shared public address if there is one, else its own."""
        return self.public_url or self.url(name)

    def database(self, service: str) -> str:
        if service in self.databases:
            return self.databases[service]
        parts = urlsplit(self.postgres_url)
        name = f"{self.database_prefix}{service.replace('-', '_')}"
        return urlunsplit(parts._replace(scheme="postgresql+asyncpg", path=f"/{name}"))


@dataclass(frozen=True)
class Process:
    """One process to start: `python -m module` with `env`, ready when `ready_path` answers.

    It serves HTTP on `port` (the public port, also in `env[port_variable]`); a replica is
    given its own port through `port_variable` while a balancer serves `port`.
    """

    name: str
    module: str
    env: dict[str, str]
    ready_path: str
    port: int = 0
    port_variable: str = ""
    instances: int = 1


SERVICES = ("payments", "kinguin-gateway", "fulfillment", "delivery", "admin")
SANDBOXES = ("nowpayments-sandbox", "kinguin-sandbox")
NAMES = ("admin", "payments", "kinguin-gateway", "fulfillment", "delivery", *SANDBOXES)
"""Every process, in the order of their ports from `make up`'s base port."""


def env_prefix(service: str) -> str:
    """The prefix of a service's environment variables (``KINGUIN_GATEWAY_``)."""
    return service.upper().replace("-", "_") + "_"


def _service_env(machine: Machine, keys: Secrets, service: str) -> dict[str, str]:
    prefix = env_prefix(service)
    env = {
        "DATABASE_URL": machine.database(service),
        "AMQP_URL": machine.amqp_url,
        "BUS_PREFIX": machine.bus_prefix,
        "HTTP_PORT": str(machine.ports[service]),
        "INTERNAL_TOKEN": keys.internal_token,
    }
    env.update(machine.service_settings)
    return {prefix + name: value for name, value in env.items()}


def processes(machine: Machine, keys: Secrets) -> list[Process]:
    """The sandboxes, then the five services, in start-up order."""
    own: dict[str, dict[str, str]] = {
        "payments": {
            "PAYMENTS_NOWPAYMENTS_API_URL": machine.url("nowpayments-sandbox"),
            "PAYMENTS_NOWPAYMENTS_API_KEY": keys.nowpayments_api_key,
            "PAYMENTS_NOWPAYMENTS_IPN_SECRET": keys.nowpayments_ipn_secret,
            "PAYMENTS_NOWPAYMENTS_EMAIL": NOWPAYMENTS_ACCOUNT,
            "PAYMENTS_NOWPAYMENTS_PASSWORD": keys.nowpayments_password,
            "PAYMENTS_NOWPAYMENTS_2FA_SECRET": keys.nowpayments_2fa_secret,
            "PAYMENTS_PUBLIC_URL": machine.public("payments"),
            # Without a front router (make up) no Ingress routes /ws/orders: the order
            # page's script reaches fulfillment's live status on its own port. Behind one
            # (make demo), the page's own origin serves it.
            **(
                {}
                if machine.public_url
                else {
                    "PAYMENTS_LIVE_STATUS_URL": machine.url("fulfillment").replace(
                        "http://", "ws://", 1
                    )
                }
            ),
            "PAYMENTS_ORDER_TOKEN_PRIVATE_KEY": keys.order_token_private_key,
            "PAYMENTS_ORDER_TOKEN_KEY_ID": ORDER_TOKEN_KEY_ID,
            "PAYMENTS_CLAIM_TOKEN_PUBLIC_KEYS": keys.claim_token_public_keys,
            # Every order of this machine (the demo's, the bench's load, the end-to-end
            # suites') comes from one address: the checkout limits stay on, out of reach.
            "PAYMENTS_CHECKOUT_CLIENT_LIMIT": "1000000",
            "PAYMENTS_CHECKOUT_GLOBAL_LIMIT": "1000000",
            # The demo's and the suites' customers live under .test.
            "PAYMENTS_CHECKOUT_EMAIL_TEST_DOMAINS": "true",
        },
        "kinguin-gateway": {
            "KINGUIN_GATEWAY_KINGUIN_API_URL": machine.url("kinguin-sandbox"),
            "KINGUIN_GATEWAY_KINGUIN_API_KEY": keys.kinguin_api_key,
            "KINGUIN_GATEWAY_WEBHOOK_SECRET": keys.kinguin_webhook_secret,
            "KINGUIN_GATEWAY_DELIVERY_PUBLIC_KEY": keys.hpke_public_key,
            "KINGUIN_GATEWAY_DELIVERY_KEY_ID": HPKE_KEY_ID,
        },
        "fulfillment": {
            "FULFILLMENT_ORDER_TOKEN_PUBLIC_KEYS": keys.order_token_public_keys,
            "FULFILLMENT_ADMIN_TOKEN_PUBLIC_KEYS": keys.admin_token_public_keys,
        },
        "delivery": {
            "DELIVERY_HPKE_PRIVATE_KEYS": f"{HPKE_KEY_ID}:{keys.hpke_private_key}",
            "DELIVERY_KEK_CURRENT_ID": KEK_ID,
            "DELIVERY_KEKS": f"{KEK_ID}:{keys.kek}",
            "DELIVERY_S3_ENDPOINT_URL": machine.s3_endpoint,
            "DELIVERY_S3_REGION": "us-east-1",
            "DELIVERY_S3_BUCKET": machine.s3_bucket,
            "DELIVERY_S3_ACCESS_KEY_ID": "bitloot-local",
            "DELIVERY_S3_SECRET_ACCESS_KEY": keys.s3_secret_access_key,
            "DELIVERY_S3_CREATE_BUCKET": "true",
            "DELIVERY_SMTP_HOST": machine.smtp_host,
            "DELIVERY_SMTP_PORT": str(machine.smtp_port),
            "DELIVERY_MAIL_FROM": "keys@bitloot.localhost",
            "DELIVERY_PUBLIC_URL": machine.public("delivery"),
            "DELIVERY_LINK_SECRET": keys.link_secret,
            "DELIVERY_ORDER_TOKEN_PUBLIC_KEYS": keys.order_token_public_keys,
            "DELIVERY_CLAIM_TOKEN_PRIVATE_KEY": keys.claim_token_private_key,
            "DELIVERY_CLAIM_TOKEN_KEY_ID": CLAIM_TOKEN_KEY_ID,
            "DELIVERY_REFUND_CLAIM_URL": f"{machine.public('payments')}/refunds/claim",
        },
        "admin": {
            "ADMIN_SESSION_PRIVATE_KEY": keys.admin_session_private_key,
            "ADMIN_SESSION_KEY_ID": ADMIN_SESSION_KEY_ID,
            "ADMIN_PAYMENTS_URL": machine.url("payments"),
            "ADMIN_KINGUIN_GATEWAY_URL": machine.url("kinguin-gateway"),
            "ADMIN_FULFILLMENT_URL": machine.url("fulfillment"),
            "ADMIN_DELIVERY_URL": machine.url("delivery"),
            # Keys delivered by hand are sealed to delivery's key, as the gateway's are.
            "ADMIN_DELIVERY_PUBLIC_KEY": keys.hpke_public_key,
            "ADMIN_DELIVERY_KEY_ID": HPKE_KEY_ID,
            "ADMIN_INITIAL_USERNAME": machine.admin_username,
            "ADMIN_INITIAL_PASSWORD": keys.admin_password,
            "ADMIN_INITIAL_TOTP_SECRET": keys.admin_totp_secret,
        },
    }
    sandboxes = [
        Process(
            "nowpayments-sandbox",
            "bitloot_sandbox_nowpayments",
            {
                "NOWPAYMENTS_SANDBOX_PORT": str(machine.ports["nowpayments-sandbox"]),
                "NOWPAYMENTS_SANDBOX_API_KEY": keys.nowpayments_api_key,
                "NOWPAYMENTS_SANDBOX_IPN_SECRET": keys.nowpayments_ipn_secret,
                "NOWPAYMENTS_SANDBOX_EMAIL": NOWPAYMENTS_ACCOUNT,
                "NOWPAYMENTS_SANDBOX_PASSWORD": keys.nowpayments_password,
                "NOWPAYMENTS_SANDBOX_TWO_FA_SECRET": keys.nowpayments_2fa_secret,
                "NOWPAYMENTS_SANDBOX_AUTO_PAY": "true",
                "NOWPAYMENTS_SANDBOX_IPN_DELAY": "0.1",
            },
            "/sandbox/invoices",
            machine.ports["nowpayments-sandbox"],
            "NOWPAYMENTS_SANDBOX_PORT",
            machine.instances.get("nowpayments-sandbox", 1),
        ),
        Process(
            "kinguin-sandbox",
            "bitloot_sandbox_kinguin",
            {
                "KINGUIN_SANDBOX_PORT": str(machine.ports["kinguin-sandbox"]),
                "KINGUIN_SANDBOX_API_KEY": keys.kinguin_api_key,
                "KINGUIN_SANDBOX_WEBHOOK_SECRET": keys.kinguin_webhook_secret,
                "KINGUIN_SANDBOX_WEBHOOK_URL": f"{machine.url('kinguin-gateway')}/kinguin/webhooks",
                "KINGUIN_SANDBOX_WEBHOOK_DELAY": "0.2",
                **{f"KINGUIN_SANDBOX_{k}": v for k, v in machine.kinguin_sandbox_settings.items()},
            },
            "/sandbox/ledger",
            machine.ports["kinguin-sandbox"],
            "KINGUIN_SANDBOX_PORT",
            machine.instances.get("kinguin-sandbox", 1),
        ),
    ]
    services = [
        Process(
            service,
            "bitloot_" + service.replace("-", "_"),
            {**_service_env(machine, keys, service), **own[service]},
            "/readyz",
            machine.ports[service],
            env_prefix(service) + "HTTP_PORT",
            machine.instances.get(service, 1),
        )
        for service in SERVICES
    ]
    return sandboxes + services
