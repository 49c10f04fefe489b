"""Fulfillment settings, from FULFILLMENT_* environment variables."""

from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bitloot_fulfillment.domain.timers import TimerPolicy
from bitloot_runtime.settings import EdgeSettings, PublicKeys
from bitloot_runtime.tokens import parse_public_keys

_KEYS = "Ed25519 public keys as kid:base64[,kid:base64…]"


class Settings(EdgeSettings):
    """Everything the fulfillment service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="FULFILLMENT_", extra="ignore", frozen=True)

    first_poll_seconds: float = Field(
        default=60.0, gt=0, description="Wait after the reservation request before polling."
    )
    poll_factor: float = Field(default=2.0, ge=1, description="Growth of each next poll delay.")
    max_poll_interval_seconds: float = Field(
        default=600.0, gt=0, description="Cap of the delay between two polls."
    )
    max_age_seconds: float = Field(
        default=1800.0,
        gt=0,
        description=(
            "An order not delivering by then fails (deadline), unless Kinguin is still"
            " processing a bought order: then the customer is told it is delayed."
        ),
    )
    timer_sweep_interval: float = Field(
        default=1.0, gt=0, le=60, description="Seconds between two passes of the timer sweeper."
    )
    timer_batch_size: int = Field(
        default=100, ge=1, le=10_000, description="Due timers fired per sweeper transaction."
    )
    order_token_public_keys: PublicKeys = Field(
        default=None, description=f"Payments' order-token keys ({_KEYS}) for WS /ws/orders."
    )
    admin_token_public_keys: PublicKeys = Field(
        default=None,
        description=f"Admin session keys ({_KEYS}); unset: only order tokens open WS /ws/orders.",
    )
    ws_heartbeat_seconds: float = Field(
        default=15.0, gt=0, le=300, description="Seconds between heartbeats on live-status sockets."
    )

    def timer_policy(self) -> TimerPolicy:
        return TimerPolicy(
            first_poll=timedelta(seconds=self.first_poll_seconds),
            poll_factor=self.poll_factor,
            max_poll_interval=timedelta(seconds=self.max_poll_interval_seconds),
            max_age=timedelta(seconds=self.max_age_seconds),
        )

    def order_keys(self) -> dict[str, Ed25519PublicKey]:
        return _public_keys(self.order_token_public_keys)

    def admin_keys(self) -> dict[str, Ed25519PublicKey]:
        return _public_keys(self.admin_token_public_keys)


def _public_keys(setting: str | None) -> dict[str, Ed25519PublicKey]:
    return parse_public_keys(setting) if setting else {}
