import pytest
from pydantic_settings import SettingsConfigDict

from bitloot_runtime.errors import ConfigError
from bitloot_runtime.settings import DEFAULT_RETRY_DELAYS, ServiceSettings, load_settings


class ShopSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHOP_")


@pytest.fixture(autouse=True)
def valid_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1/shop")
    monkeypatch.setenv("SHOP_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def test_settings_are_read_from_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_RETRY_DELAYS", "0.5, 2,10")
    settings = load_settings(ShopSettings)
    assert settings.database_url == "postgresql+asyncpg://postgres@127.0.0.1/shop"
    assert settings.retry_delays == (0.5, 2.0, 10.0)


def test_default_retry_delays_are_1s_5s_30s_2min_10min() -> None:
    assert load_settings(ShopSettings).retry_delays == DEFAULT_RETRY_DELAYS == (1, 5, 30, 120, 600)


def test_missing_variable_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_AMQP_URL")
    with pytest.raises(ConfigError, match="SHOP_AMQP_URL: Field required"):
        load_settings(ShopSettings)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SHOP_DATABASE_URL", "postgresql://no-async-driver/shop"),
        ("SHOP_AMQP_URL", "http://not-amqp"),
        ("SHOP_RETRY_DELAYS", "1,soon"),
        ("SHOP_RETRY_DELAYS", "1,-5"),
        ("SHOP_HTTP_PORT", "70000"),
        ("SHOP_LOG_LEVEL", "LOUD"),
        ("SHOP_TRUSTED_PROXIES", "10.0.0.0/8,ingress-nginx"),
        ("SHOP_TRUSTED_PROXIES", "10.0.0.1/8"),
    ],
)
def test_invalid_value_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"^Invalid configuration: {variable}: "):
        load_settings(ShopSettings)


def test_trusted_proxies_are_read_as_networks_and_default_to_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings(ShopSettings).trusted_proxies == ()
    monkeypatch.setenv("SHOP_TRUSTED_PROXIES", " 10.0.0.0/8, 192.0.2.1,::1")
    assert load_settings(ShopSettings).trusted_proxies == ("10.0.0.0/8", "192.0.2.1/32", "::1/128")
