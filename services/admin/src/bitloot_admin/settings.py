"""Admin settings, from ADMIN_* environment variables."""

from pydantic_settings import SettingsConfigDict

from bitloot_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything the admin service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="ADMIN_", extra="ignore", frozen=True)
