"""Fulfillment settings, from FULFILLMENT_* environment variables."""

from pydantic_settings import SettingsConfigDict

from bitloot_runtime.settings import EdgeSettings


class Settings(EdgeSettings):
    """Everything the fulfillment service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="FULFILLMENT_", extra="ignore", frozen=True)
