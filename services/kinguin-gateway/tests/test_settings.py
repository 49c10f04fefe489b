"""The gateway's settings: the Kinguin rate limit's."""

import pytest
from kinguin_gateway_support import API_KEY, INTERNAL_TOKEN, WEBHOOK_SECRET

from bitloot_kinguin_gateway.settings import Settings
from bitloot_runtime.errors import ConfigError
from bitloot_runtime.sealing import generate_key_pair
from bitloot_runtime.settings import load_settings

REQUIRED = {
    "database_url": "postgresql+asyncpg://gateway@db/gateway",
    "amqp_url": "amqp://gateway@bus/",
    "internal_token": INTERNAL_TOKEN,
    "kinguin_api_url": "https://kinguin.example",
    "kinguin_api_key": API_KEY,
    "webhook_secret": WEBHOOK_SECRET,
    "delivery_public_key": generate_key_pair()[1],
}


def test_the_rate_limit_defaults_to_kinguins_and_a_second_s_worth_of_burst() -> None:
    settings = load_settings(Settings, **REQUIRED)
    assert (settings.kinguin_rate_limit_per_minute, settings.kinguin_rate_limit_burst) == (
        2000,
        None,
    )


def test_a_burst_above_the_limit_a_minute_is_refused_at_start_naming_the_variable() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(
            Settings,
            **REQUIRED,
            kinguin_rate_limit_per_minute=40,
            kinguin_rate_limit_burst=41,
        )
    message = str(refused.value)
    assert "KINGUIN_GATEWAY_KINGUIN_RATE_LIMIT_BURST: " in message
    assert "at most KINGUIN_GATEWAY_KINGUIN_RATE_LIMIT_PER_MINUTE (40)" in message
