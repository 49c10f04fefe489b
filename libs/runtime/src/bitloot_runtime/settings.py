"""Settings shared by every service, read from prefixed environment variables.

Each service subclasses `ServiceSettings` with its own `env_prefix` (``PAYMENTS_``,
``FULFILLMENT_`` …) and adds only what it needs; `load_settings` turns pydantic's
validation error into a `ConfigError` that names the environment variables at fault.
"""

import binascii
import ipaddress
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bitloot_runtime.errors import ConfigError
from bitloot_runtime.tokens import load_private_key, parse_public_keys

DEFAULT_RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0, 600.0)


def _ed25519_private_key(value: SecretStr) -> SecretStr:
    try:
        load_private_key(value.get_secret_value())
    except (ValueError, binascii.Error):
        raise ValueError("must be a base64 raw 32-byte Ed25519 private key") from None
    return value


def _public_keys(value: str | None) -> str | None:
    if value is not None:
        parse_public_keys(value)  # fail at start-up, naming the variable
    return value


# Fields several services declare alike; a SigningKey is a base64 raw Ed25519 private key,
# PublicKeys Ed25519 public keys as kid:base64[,kid:base64…] (`tokens.parse_public_keys`).
SigningKey = Annotated[SecretStr, AfterValidator(_ed25519_private_key)]
PublicKeys = Annotated[str | None, AfterValidator(_public_keys)]
RetentionSweepSeconds = Annotated[
    float, Field(default=3600.0, gt=0, description="Seconds between retention sweeps.")
]
RetentionBatchSize = Annotated[
    int, Field(default=500, ge=1, le=10_000, description="Rows one retention transaction deletes.")
]


class ServiceSettings(BaseSettings):
    """What the runtime needs from every service: where its database and broker are,
    how to name things on the bus, how to retry and how to log."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str = Field(
        description="SQLAlchemy URL of this service's own database "
        "(postgresql+asyncpg://user@host:5432/bitloot_payments); created if missing."
    )
    database_max_connections: int = Field(
        default=16,
        ge=2,
        le=500,
        description="Most connections the service's database pool holds (kept once opened). "
        "Every service and replica sharing one PostgreSQL server, plus one outbox listener "
        "each and the Kinguin limiter's 2, must fit under its max_connections (100 by "
        "default): five services at 16 use 88.",
    )
    amqp_url: str = Field(description="RabbitMQ URL (amqp://user:pass@host:5672/vhost).")
    bus_prefix: str = Field(
        default="",
        description="Prefix of every exchange and queue name; lets several environments "
        "(or test runs) share one broker.",
    )
    retry_delays: Annotated[tuple[float, ...], NoDecode] = Field(
        default=DEFAULT_RETRY_DELAYS,
        description="Seconds to wait before each retry of a failed message, comma-separated.",
    )
    prefetch: int = Field(
        default=16,
        ge=1,
        le=1000,
        description="Unacknowledged messages each consumer may hold at once.",
    )
    outbox_poll_interval: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Seconds between outbox relay passes when no commit woke it sooner.",
    )
    outbox_batch_size: int = Field(
        default=100, ge=1, le=10_000, description="Outbox rows published per relay pass."
    )
    outbox_ready_lag_seconds: float = Field(
        default=60.0,
        gt=0,
        description="/readyz answers 503 while an outbox row due for publishing has waited "
        "longer than this: events are committed but not reaching the bus (broker blocking, "
        "relay stuck), so new work would only pile up.",
    )
    outbox_retention_hours: float = Field(
        default=168.0, gt=0, description="Hours a published outbox row is kept for audit."
    )
    inbox_retention_hours: float = Field(
        default=720.0,
        gt=0,
        description="Hours a consumed message id is remembered for deduplication; "
        "longer than the longest possible redelivery.",
    )
    idempotency_key_hours: float = Field(
        default=24.0,
        gt=0,
        description="Hours an Idempotency-Key of a repair action is remembered: a repeat "
        "within them gets the first answer and has no second effect.",
    )
    idempotency_doubt_hours: float = Field(
        default=168.0,
        gt=0,
        description="Hours an Idempotency-Key whose action never answered (failed after it "
        "may have acted, or its process died) is kept, refusing repeats, before it is swept "
        "and logged; at least idempotency_key_hours.",
    )
    idempotency_wait_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Seconds a repeat waits for the first request's answer before 409 "
        "idempotency_key_in_progress; below the admin's upstream_timeout (3 s).",
    )
    http_host: str = Field(
        default="127.0.0.1",
        description="Address the HTTP edge binds to (0.0.0.0 in a container).",
    )
    http_port: int = Field(
        default=8000, ge=0, le=65535, description="Port of the HTTP edge (0: any free port)."
    )
    log_level: str = Field(
        default="INFO",
        pattern="^(DEBUG|INFO|WARNING|ERROR)$",
        description="DEBUG, INFO, WARNING or ERROR; logs are JSON lines on stderr.",
    )
    # Slow and greedy clients (issue #23): `bitloot_runtime.server`.
    http_header_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds a client has to send a request's whole head (request line "
        "and headers) once its connection opened or the request began; then the connection "
        "is closed. Stops slowloris connections that trickle headers to hold sockets.",
    )
    http_keep_alive_timeout: int = Field(
        default=5,
        ge=1,
        le=300,
        description="Seconds an idle keep-alive connection is kept between requests.",
    )
    http_max_head_bytes: int = Field(
        default=64 * 1024,
        ge=8 * 1024,
        le=1024 * 1024,
        description="Bytes a request's head may take; a larger one is answered 431 and "
        "its connection closed.",
    )
    http_max_connections: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="HTTP connections (WebSocket sessions included) this process keeps "
        "open at once; a connection beyond it is closed as soon as it is accepted.",
    )
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Addresses or CIDR networks of the reverse proxies in front of the HTTP "
        "edge (the ingress controller's pods), comma-separated. A request from one of them "
        "is taken to come from the right-most X-Forwarded-For address that is not itself a "
        "trusted proxy; from anyone else the header is ignored. Empty: trust nobody, the "
        "client is the connection's peer. The client so resolved is the one rate limits, "
        "audits and the access log see.",
    )

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: str) -> str:
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("must start with postgresql+asyncpg://")
        return value

    @field_validator("amqp_url")
    @classmethod
    def _amqp_url(cls, value: str) -> str:
        if not value.startswith(("amqp://", "amqps://")):
            raise ValueError("must start with amqp:// or amqps://")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Normalised to networks ("10.0.0.7" is "10.0.0.7/32"); anything else is refused,
        # ipaddress's ValueError naming it ("10.0.0.1/8 has host bits set"), rather than
        # kept as a name that silently matches no peer.
        return tuple(str(ipaddress.ip_network(part)) for part in value)

    @field_validator("retry_delays", mode="before")
    @classmethod
    def _parse_delays(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return tuple(float(part) for part in value.split(",") if part.strip())
            except ValueError:
                raise ValueError("must be comma-separated seconds, e.g. 1,5,30") from None
        return value

    @field_validator("retry_delays")
    @classmethod
    def _positive_delays(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(delay <= 0 for delay in value):
            raise ValueError("every delay must be greater than zero")
        return value


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings(cls: type[SettingsT], **overrides: Any) -> SettingsT:
    """Build `cls` from the environment, or raise `ConfigError` naming each bad variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            variable = f"{prefix}{field}".upper()
            problems.append(f"{variable}: {error['msg']}")
        raise ConfigError(f"Invalid configuration: {'; '.join(problems)}") from None


class EdgeSettings(ServiceSettings):
    """Settings of a service with an HTTP edge and an internal API for the admin service."""

    internal_token: SecretStr = Field(
        min_length=16,
        description="Bearer token that service-to-service calls to /internal/* must carry "
        "(the admin service sends it). At least 16 characters; rotate with "
        "INTERNAL_TOKEN_PREVIOUS.",
    )
    internal_token_previous: SecretStr | None = Field(
        default=None, description="The token being rotated out, still accepted while set."
    )
