"""Admin settings, from ADMIN_* environment variables."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from bitloot_runtime.settings import EdgeSettings


class Settings(EdgeSettings):
    """Everything the admin service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="ADMIN_", extra="ignore", frozen=True)

    session_secret: SecretStr = Field(
        min_length=32, description="HS256 key of admin session tokens; at least 32 characters."
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
    upstream_timeout: float = Field(
        default=3.0, gt=0, description="Seconds before a call to another service gives up."
    )
