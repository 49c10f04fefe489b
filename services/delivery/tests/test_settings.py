"""Delivery's settings: malformed keys stop the service, naming the variable."""

import base64
import os
from datetime import timedelta

import pytest
from delivery_support import CLAIM_TOKEN_PRIVATE, INTERNAL_TOKEN, LINK_SECRET

from bitloot_delivery.settings import Settings
from bitloot_runtime import sealing
from bitloot_runtime.errors import ConfigError
from bitloot_runtime.settings import load_settings


def values(**overrides: object) -> dict[str, object]:
    private_key, _ = sealing.generate_key_pair()
    return {
        "database_url": "postgresql+asyncpg://postgres@127.0.0.1/delivery",
        "amqp_url": "amqp://guest:guest@127.0.0.1/",
        "internal_token": INTERNAL_TOKEN,
        "hpke_private_keys": f"d1:{private_key}",
        "kek_current_id": "k1",
        "keks": f"k1:{base64.b64encode(os.urandom(32)).decode()}",
        "s3_bucket": "bitloot-keys",
        "s3_access_key_id": "id",
        "s3_secret_access_key": "secret",
        "smtp_host": "127.0.0.1",
        "smtp_port": 25,
        "mail_from": "keys@bitloot.io",
        "public_url": "https://keys.bitloot.io",
        "link_secret": LINK_SECRET,
        "claim_token_private_key": CLAIM_TOKEN_PRIVATE,
        "refund_claim_url": "https://pay.bitloot.io/refunds/claim",
        **overrides,
    }


def test_well_formed_keys_are_available_parsed() -> None:
    settings = load_settings(Settings, **values())
    assert list(settings.private_keys()) == ["d1"]
    assert settings.key_encryption_keys().current_id == "k1"
    assert settings.s3_region == "auto"
    assert settings.link_ttl_minutes == 15
    assert settings.retention_days == 180
    assert settings.order_token_public_keys is None
    assert settings.claim_token_key_id == "c1"
    assert settings.claim_tokens().ttl == timedelta(days=7)


@pytest.mark.parametrize(
    ("overrides", "variable", "message"),
    [
        ({"keks": "k1:" + base64.b64encode(os.urandom(16)).decode()}, "DELIVERY_KEKS", "16 bytes"),
        ({"kek_current_id": "k9"}, "DELIVERY_KEKS", "'k9'"),
        ({"hpke_private_keys": "d1:short"}, "DELIVERY_HPKE_PRIVATE_KEYS", "'d1'"),
        ({"hpke_private_keys": "nokeyid"}, "DELIVERY_HPKE_PRIVATE_KEYS", "kid:base64"),
        ({"link_secret": "too-short"}, "DELIVERY_LINK_SECRET", "32"),
        ({"order_token_public_keys": "nokeyid"}, "DELIVERY_ORDER_TOKEN_PUBLIC_KEYS", "kid:base64"),
        ({"retention_days": 0.5}, "DELIVERY_RETENTION_DAYS", "greater than or equal to 1"),
        ({"email_lease_seconds": 5}, "DELIVERY_EMAIL_LEASE_SECONDS", "60"),
        ({"claim_token_private_key": "c2hvcnQ="}, "DELIVERY_CLAIM_TOKEN_PRIVATE_KEY", "32 bytes"),
        ({"refund_claim_url": "pay.example/claim"}, "DELIVERY_REFUND_CLAIM_URL", "https?"),
        ({"claim_link_ttl_days": 0}, "DELIVERY_CLAIM_LINK_TTL_DAYS", "greater than 0"),
    ],
)
def test_a_malformed_secret_is_refused_naming_its_variable(
    overrides: dict[str, object], variable: str, message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(Settings, **values(**overrides))
    assert f"{variable}:" in str(refused.value)
    assert message in str(refused.value)
