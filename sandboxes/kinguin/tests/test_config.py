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


def test_a_product_may_be_configured_as_a_preorder_with_its_release_date() -> None:
    config = KinguinSandboxConfig.from_env(
        {
            "KINGUIN_SANDBOX_HOLD_COMPLETION": "true",
            "KINGUIN_SANDBOX_PRODUCTS": (
                '{"p1": {"name": "Game", "price": "3.10", "stock": 4},'
                ' "p2": {"name": "Next", "price": 50, "stock": 9, "isPreorder": true,'
                ' "releaseDate": "2031-01-01"}}'
            ),
        }
    )

    assert config.hold_completion is True
    assert (config.products["p1"].is_preorder, config.products["p1"].release_date) == (
        False,
        "2020-01-01",
    )
    assert (config.products["p2"].is_preorder, config.products["p2"].release_date) == (
        True,
        "2031-01-01",
    )


def test_a_preorder_flag_or_release_date_of_the_wrong_kind_names_the_variable() -> None:
    for spec in ('"isPreorder": "yes"', '"releaseDate": "soon"'):
        raw = f'{{"p1": {{"name": "x", "price": 1, "stock": 1, {spec}}}}}'
        with pytest.raises(ConfigError, match="KINGUIN_SANDBOX_PRODUCTS"):
            KinguinSandboxConfig.from_env({"KINGUIN_SANDBOX_PRODUCTS": raw})
