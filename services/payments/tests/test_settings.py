import pytest

from bitloot_payments.settings import Settings
from bitloot_runtime.errors import ConfigError
from bitloot_runtime.settings import load_settings
from bitloot_runtime.tokens import generate_key_pair

REQUIRED = {
    "database_url": "postgresql+asyncpg://postgres@127.0.0.1:5432/bitloot_payments",
    "amqp_url": "amqp://guest:guest@127.0.0.1:5672/",
    "internal_token": "payments-test-internal-token",
    "nowpayments_api_url": "https://api.nowpayments.io",
    "nowpayments_api_key": "key",
    "nowpayments_ipn_secret": "secret",
    "public_url": "https://shop.example/",
    "claim_token_public_keys": f"c1:{generate_key_pair()[1]}",
}


def settings_of(**changes: object) -> Settings:
    """The settings with REQUIRED, a fresh signing key and `changes`."""
    key = generate_key_pair()[0]
    return load_settings(Settings, **{**REQUIRED, "order_token_private_key": key, **changes})


def test_defaults_and_a_public_url_without_trailing_slash() -> None:
    settings = settings_of()
    assert settings.public_url == "https://shop.example"
    assert (settings.order_token_key_id, settings.order_token_ttl_hours) == ("k1", 72.0)
    assert settings.nowpayments_ipn_secret_previous is None


def test_settings_are_read_from_payments_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(f"PAYMENTS_{name.upper()}", value)
    monkeypatch.setenv("PAYMENTS_ORDER_TOKEN_PRIVATE_KEY", generate_key_pair()[0])
    monkeypatch.setenv("PAYMENTS_ORDER_TOKEN_TTL_HOURS", "1.5")
    assert load_settings(Settings).order_token_ttl_hours == 1.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("order_token_private_key", "bm90IGEga2V5"),
        ("success_url", "shop.example/orders/{order_id}"),
        ("success_url", "https://shop.example/orders/{order}"),
        ("cancel_url", "https://shop.example/{0}"),
        ("underpayment_tolerance_percent", "-1"),
        ("ipn_max_attempts", "0"),
        ("live_status_url", "https://fulfillment.example"),
        ("live_status_url", "ws://fulfillment.example/?token=x"),
        ("nowpayments_2fa_secret", "not base32!"),
        ("payout_ipn_url", "ftp://shop.example/ipn"),
        *(("claim_token_public_keys", keys) for keys in ("", "c1", "c1:bm90IGEga2V5", "c1:%%%")),
    ],
)
def test_an_unusable_setting_is_refused_at_start_naming_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"PAYMENTS_{name.upper()}"):
        settings_of(**{name: value})


def test_return_urls_are_templates_of_the_order_id() -> None:
    settings = settings_of(success_url="https://shop.example/orders/{order_id}/thanks")
    assert settings.success_url == "https://shop.example/orders/{order_id}/thanks"
    assert settings.success_url_template() == settings.success_url
    assert settings.cancel_url is None


def test_the_order_page_is_the_default_success_url_and_the_live_status_is_on_its_origin() -> None:
    settings = settings_of()
    assert settings.success_url is None
    assert settings.success_url_template() == (
        "https://shop.example/orders/{order_id}?token={order_token}"
    )
    assert (settings.live_status_url, settings.live_status_origin()) == (None, None)
    elsewhere = settings_of(live_status_url="wss://live.example:8443/status/")
    assert elsewhere.live_status_url == "wss://live.example:8443/status"
    assert elsewhere.live_status_origin() == "wss://live.example:8443"


def test_payout_settings_default_to_the_public_url_and_no_2fa() -> None:
    settings = settings_of()

    assert settings.nowpayments_2fa_secret is None
    assert settings.payout_ipn_url is None
    assert settings.payout_lookup_after_seconds > settings.nowpayments_timeout


def test_a_payout_lookup_before_the_provider_calls_end_is_refused_naming_its_variable() -> None:
    with pytest.raises(ConfigError, match="PAYMENTS_PAYOUT_LOOKUP_AFTER_SECONDS"):
        settings_of(nowpayments_timeout=30, payout_lookup_after_seconds=20)
