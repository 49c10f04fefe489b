import pytest

from bitloot_sandbox_nowpayments.config import ConfigError, NowPaymentsSandboxConfig


def test_config_reads_prefixed_variables() -> None:
    config = NowPaymentsSandboxConfig.from_env(
        {
            "NOWPAYMENTS_SANDBOX_PORT": "9001",
            "NOWPAYMENTS_SANDBOX_API_KEY": "k",
            "NOWPAYMENTS_SANDBOX_AUTO_PAY": "true",
            "NOWPAYMENTS_SANDBOX_IPN_DELAY": "0.5",
        }
    )

    assert (config.port, config.api_key, config.auto_pay, config.ipn_delay) == (
        9001,
        "k",
        True,
        0.5,
    )
    assert config.host == "127.0.0.1"


def test_config_error_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="NOWPAYMENTS_SANDBOX_AUTO_PAY"):
        NowPaymentsSandboxConfig.from_env({"NOWPAYMENTS_SANDBOX_AUTO_PAY": "maybe"})


def test_config_reads_the_dashboard_login_and_token_lifetime() -> None:
    config = NowPaymentsSandboxConfig.from_env(
        {
            "NOWPAYMENTS_SANDBOX_EMAIL": "shop@example.com",
            "NOWPAYMENTS_SANDBOX_PASSWORD": "secret",
            "NOWPAYMENTS_SANDBOX_TOKEN_TTL": "60",
        }
    )

    assert (config.email, config.password, config.token_ttl) == ("shop@example.com", "secret", 60)
    assert NowPaymentsSandboxConfig.from_env({}).token_ttl == 300


def test_a_negative_token_lifetime_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="NOWPAYMENTS_SANDBOX_TOKEN_TTL"):
        NowPaymentsSandboxConfig.from_env({"NOWPAYMENTS_SANDBOX_TOKEN_TTL": "-1"})
