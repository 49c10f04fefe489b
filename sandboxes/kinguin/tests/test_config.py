from decimal import Decimal

import pytest

from bitloot_sandbox_kinguin.config import ConfigError, KinguinSandboxConfig


def test_config_reads_prefixed_variables_and_products() -> None:
    config = KinguinSandboxConfig.from_env(
        {
            "KINGUIN_SANDBOX_PORT": "9002",
            "KINGUIN_SANDBOX_WEBHOOK_URL": "http://gw.test/kinguin/webhook",
            "KINGUIN_SANDBOX_PRODUCTS": '{"p1": {"name": "Game", "price": "3.10", "stock": 4}}',
        }
    )

    assert config.port == 9002
    assert config.webhook_url == "http://gw.test/kinguin/webhook"
    assert config.products["p1"].price == Decimal("3.10")
    assert config.products["p1"].stock == 4


def test_config_error_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="KINGUIN_SANDBOX_PRODUCTS"):
        KinguinSandboxConfig.from_env({"KINGUIN_SANDBOX_PRODUCTS": '{"p1": {"name": "x"}}'})
