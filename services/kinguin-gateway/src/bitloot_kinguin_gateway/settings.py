"""Kinguin gateway settings, from KINGUIN_GATEWAY_* environment variables."""

from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from bitloot_runtime.retention import InboundLogRetention
from bitloot_runtime.settings import EdgeSettings, RetentionBatchSize, RetentionSweepSeconds


class Settings(EdgeSettings):
    """Everything the kinguin-gateway service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="KINGUIN_GATEWAY_", extra="ignore", frozen=True)

    kinguin_api_url: str = Field(description="Base URL of Kinguin's eCommerce API.")
    kinguin_api_key: SecretStr = Field(description="Sent as X-Api-Key on every Kinguin call.")
    # Kinguin's rate limit, shared by every replica through the database (issue #23).
    kinguin_rate_limit_per_minute: int = Field(
        default=2000,
        gt=0,
        description="Most Kinguin calls started in any 60 seconds by all the gateway's "
        "replicas together (Kinguin's limit per API key); kept in the gateway's database.",
    )
    kinguin_rate_limit_burst: int | None = Field(
        default=None,
        gt=0,
        description="Most Kinguin calls started at once after a quiet spell, counted in the "
        "minute's allowance, not on top of it. Unset: a second's worth (the limit a minute "
        "/ 60, at least 1).",
    )

    @field_validator("kinguin_rate_limit_burst")
    @classmethod
    def _burst_within_the_limit(cls, burst: int | None, info: ValidationInfo) -> int | None:
        per_minute = info.data.get("kinguin_rate_limit_per_minute")
        if burst is not None and per_minute is not None and burst > per_minute:
            raise ValueError(
                f"must be at most KINGUIN_GATEWAY_KINGUIN_RATE_LIMIT_PER_MINUTE ({per_minute})"
            )
        return burst

    kinguin_timeout: float = Field(
        default=15.0, gt=0, description="Seconds a Kinguin call may take before it is dropped."
    )
    balance_low: Decimal = Field(
        default=Decimal(100),
        ge=0,
        max_digits=18,
        decimal_places=2,
        allow_inf_nan=False,
        description="Kinguin balance, in EUR (the currency of every Kinguin price and of "
        "max_purchase_price), below which it is marked low: a warning is logged once, the "
        "bitloot_kinguin_balance_low gauge is 1 and the admin's Health page says LOW.",
    )
    balance_poll_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="Seconds between reads of the Kinguin balance (GET /v1/balance); a "
        "failed read is logged and tried again the next period.",
    )
    catalog_sync_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Seconds between two readings of every product the catalog lists "
        "(GET /v2/products/{productId}: stock, price, preorder); product.update webhooks "
        "bring stock changes in between. An order is priced from a reading at most twice "
        "this old (else from a live read); a newly listed product is read within 5 s.",
    )
    webhook_auth: Literal["secret", "signature", "either"] = Field(
        default="either",
        description="How a webhook proves it comes from Kinguin: the shared secret header, "
        "the X-KINGUIN-SIGNATURE HMAC-SHA512 of the body, or either of them.",
    )
    webhook_secret: SecretStr = Field(description="The webhook secret configured at Kinguin.")
    webhook_secret_previous: SecretStr | None = Field(
        default=None, description="The webhook secret being rotated out, still accepted."
    )
    webhook_secret_header: str = Field(
        default="X-Event-Secret", description="Header carrying the webhook secret."
    )
    delivery_public_key: str = Field(
        description="Delivery's HPKE public key (base64 of the raw X25519 key); keys are "
        "sealed to it."
    )
    delivery_key_id: str = Field(default="d1", description="Id of delivery's key pair.")

    # Retention of the webhook log (domain/retention.py states the rules).
    webhook_unauthenticated_retention_days: float = Field(
        default=30.0,
        ge=1,
        description="Webhook calls that failed authentication are deleted this long after "
        "they arrived.",
    )
    webhook_retention_days: float = Field(
        default=400.0,
        ge=30,
        description="Authenticated webhook calls are deleted this long after they arrived, "
        "once the reservation they are about has ended; never before.",
    )
    retention_sweep_seconds: RetentionSweepSeconds
    retention_batch_size: RetentionBatchSize

    def webhook_retention(self) -> InboundLogRetention:
        return InboundLogRetention.of_days(
            self.webhook_unauthenticated_retention_days, self.webhook_retention_days
        )
