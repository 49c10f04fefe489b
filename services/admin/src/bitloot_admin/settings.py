"""Admin settings, from ADMIN_* environment variables."""

import base64
import binascii

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from bitloot_runtime.sealing import load_public_key
from bitloot_runtime.settings import (
    EdgeSettings,
    RetentionBatchSize,
    RetentionSweepSeconds,
    SigningKey,
)


class Settings(EdgeSettings):
    """Everything the admin service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="ADMIN_", extra="ignore", frozen=True)

    session_private_key: SigningKey = Field(
        description="Base64 raw Ed25519 private key that signs admin session tokens (EdDSA); "
        "services that accept admin tokens (fulfillment's live status) hold only its public key."
    )
    session_key_id: str = Field(
        default="a1", min_length=1, description="Key id in the header of admin session tokens."
    )
    payments_url: str = Field(description="Base URL of the payments service (its /internal/).")
    kinguin_gateway_url: str = Field(description="Base URL of the kinguin-gateway service.")
    fulfillment_url: str = Field(description="Base URL of the fulfillment service.")
    delivery_url: str = Field(description="Base URL of the delivery service.")
    session_ttl_minutes: float = Field(default=30.0, gt=0, description="Session lifetime.")
    initial_username: str | None = Field(
        default=None, description="Admin created at start when no admin exists (the demo)."
    )
    initial_password: SecretStr | None = Field(
        default=None, description="Password of initial_username."
    )
    initial_totp_secret: SecretStr | None = Field(
        default=None,
        description="Base32 TOTP secret the initial admin (an owner) is created with, so that "
        "its second factor is enrolled from the start (the demo prints it). Unset: the "
        "owner enrols one at its first login.",
    )
    upstream_timeout: float = Field(
        default=3.0, gt=0, description="Seconds before a call to another service gives up."
    )

    login_attempts: int = Field(
        default=10,
        ge=1,
        description="Logins allowed per client address and per username in each window.",
    )
    login_window_seconds: float = Field(
        default=60.0, gt=0, description="Length of the login rate-limit window."
    )

    delivery_public_key: str | None = Field(
        default=None,
        description="Delivery's HPKE public key (base64 of the raw X25519 key), the gateway's "
        "KINGUIN_GATEWAY_DELIVERY_PUBLIC_KEY: keys an admin delivers by hand are sealed to it. "
        "Unset: delivering keys by hand is refused.",
    )
    delivery_key_id: str = Field(
        default="d1", min_length=1, description="Id of delivery's key pair (as the gateway's)."
    )

    # Retention of the audit and the order activity (domain/retention.py says why).
    audit_retention_days: float = Field(
        default=730.0,
        ge=30,
        description="Admin audit and order activity rows are deleted this long after they "
        "were written; each deletion is itself audited.",
    )
    retention_sweep_seconds: RetentionSweepSeconds
    retention_batch_size: RetentionBatchSize

    @field_validator("delivery_public_key")
    @classmethod
    def _x25519_key(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                load_public_key(value)
            except (ValueError, binascii.Error):
                raise ValueError("must be a base64 raw 32-byte X25519 public key") from None
        return value

    @field_validator("initial_totp_secret")
    @classmethod
    def _base32(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                if len(base64.b32decode(value.get_secret_value(), casefold=True)) < 10:
                    raise ValueError
            except (ValueError, binascii.Error):
                raise ValueError("must be a base32 secret of at least 80 bits") from None
        return value
