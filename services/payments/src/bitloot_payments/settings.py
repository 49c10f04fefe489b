"""Payments settings, from PAYMENTS_* environment variables."""

from pydantic_settings import SettingsConfigDict

from bitloot_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything the payments service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="PAYMENTS_", extra="ignore", frozen=True)
