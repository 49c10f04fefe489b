"""Kinguin gateway settings, from KINGUIN_GATEWAY_* environment variables."""

from pydantic_settings import SettingsConfigDict

from bitloot_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything the kinguin-gateway service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="KINGUIN_GATEWAY_", extra="ignore", frozen=True)
