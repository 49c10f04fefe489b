"""Delivery settings, from DELIVERY_* environment variables."""

from pydantic_settings import SettingsConfigDict

from bitloot_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything the delivery service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="DELIVERY_", extra="ignore", frozen=True)
