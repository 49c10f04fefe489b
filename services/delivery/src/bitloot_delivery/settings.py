"""Delivery settings, from DELIVERY_* environment variables.

The HPKE private keys and the KEKs are parsed when the settings are loaded, so a
malformed value stops the service at start-up with the variable's name
(``DELIVERY_KEKS: Value error, KEK 'k1' has 16 bytes; AES-256 needs 32.``).
"""

import binascii
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from bitloot_delivery.domain.vault import KeyEncryptionKeys, VaultError
from bitloot_runtime.sealing import load_private_key
from bitloot_runtime.settings import EdgeSettings, PublicKeys, RetentionSweepSeconds
from bitloot_runtime.tokens import ClaimTokenSigner
from bitloot_runtime.tokens import load_private_key as load_claim_key


class Settings(EdgeSettings):
    """Everything the delivery service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="DELIVERY_", extra="ignore", frozen=True)

    hpke_private_keys: SecretStr = Field(
        description="X25519 private keys that open sealed keys, as kid:base64[,kid:base64] "
        "(raw 32 bytes each; keep the previous pair while the gateway rotates)."
    )
    kek_current_id: str = Field(min_length=1, description="The KEK that wraps new data keys.")
    keks: SecretStr = Field(
        description="Key-encryption keys as id:base64-32-bytes[,id:base64-32-bytes]; old "
        "ones stay until every data key they wrapped has been re-wrapped."
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3 endpoint (R2, MinIO); None for AWS itself."
    )
    s3_region: str = Field(default="auto", description='S3 region ("auto" for R2).')
    s3_bucket: str = Field(min_length=3, description="Bucket of the encrypted keys.")
    s3_access_key_id: str = Field(min_length=1, description="S3 access key id.")
    s3_secret_access_key: SecretStr = Field(description="S3 secret access key.")
    s3_create_bucket: bool = Field(
        default=False, description="Create the bucket at start if missing (demo, tests)."
    )
    smtp_host: str = Field(min_length=1, description="SMTP server for the delivery emails.")
    smtp_port: int = Field(ge=1, le=65535, description="SMTP port (587 with STARTTLS).")
    smtp_username: str | None = Field(default=None, description="SMTP login, if required.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_starttls: bool = Field(default=False, description="Upgrade to TLS with STARTTLS.")
    mail_from: str = Field(min_length=3, description="From address of the emails.")
    support_email: str = Field(
        default="support@bitloot.io",
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Support address the key emails and the reveal page give the customer.",
    )
    public_url: str = Field(
        pattern=r"^https?://", description="Base URL of delivery's edge, for reveal links."
    )
    link_secret: SecretStr = Field(
        min_length=32, description="HS256 secret of reveal links; at least 32 characters."
    )
    link_ttl_minutes: float = Field(default=15.0, gt=0, description="Life of a reveal link.")
    order_token_public_keys: PublicKeys = Field(
        default=None,
        description="Ed25519 public keys of payments' order tokens, as kid:base64[,…]; "
        "POST /orders/{id}/link answers 503 until they are set.",
    )
    claim_token_private_key: SecretStr = Field(
        description="Ed25519 private key (base64 of its 32 raw bytes) that signs refund claim "
        "links; payments verifies them with the public half."
    )
    claim_token_key_id: str = Field(
        default="c1", min_length=1, description="Key id of the claim-link key (JWT kid)."
    )
    claim_link_ttl_days: float = Field(default=7.0, gt=0, description="Life of a claim link.")
    refund_claim_url: str = Field(
        pattern=r"^https?://",
        description="Payments' refund claim page; links are {url}?token=<claim token>.",
    )
    fresh_links_per_ip_per_hour: int = Field(
        default=10, ge=1, description="Fresh-link requests allowed per client IP per hour."
    )
    fresh_links_per_order_per_hour: int = Field(
        default=3, ge=1, description="Fresh-link emails allowed per order per hour."
    )
    retention_days: float = Field(
        default=180.0, ge=1, description="Keys are deleted this long after they were stored."
    )
    retention_sweep_seconds: RetentionSweepSeconds
    email_poll_seconds: float = Field(
        default=5.0, gt=0, description="Fallback poll of the email sender (NOTIFY wakes it)."
    )
    email_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Emails one instance sends at once, each its own SMTP connection.",
    )
    email_lease_seconds: float = Field(
        default=600.0,
        ge=60,
        description="An email attempt still under way after this long was cut short (its "
        "sender died): sent again if it never reached DATA, once more (same Message-ID) "
        "if it did; also how long a connection lost during DATA waits before that resend.",
    )

    @field_validator("hpke_private_keys")
    @classmethod
    def _parse_hpke_keys(cls, value: SecretStr) -> SecretStr:
        parse_private_keys(value.get_secret_value())
        return value

    @field_validator("claim_token_private_key")
    @classmethod
    def _parse_claim_key(cls, value: SecretStr) -> SecretStr:
        try:
            load_claim_key(value.get_secret_value())
        except (ValueError, binascii.Error):
            raise ValueError("the claim token key is not 32 bytes of base64") from None
        return value

    @field_validator("keks")
    @classmethod
    def _parse_keks(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        current = info.data.get("kek_current_id")
        if current is None:  # kek_current_id itself is reported as missing or invalid
            return value
        try:
            KeyEncryptionKeys.parse(current, value.get_secret_value())
        except VaultError as exc:
            raise ValueError(str(exc)) from None
        return value

    def private_keys(self) -> dict[str, X25519PrivateKey]:
        """The HPKE private keys by key id."""
        return parse_private_keys(self.hpke_private_keys.get_secret_value())

    def claim_tokens(self) -> ClaimTokenSigner:
        """The signer of refund claim links."""
        key = load_claim_key(self.claim_token_private_key.get_secret_value())
        ttl = timedelta(days=self.claim_link_ttl_days)
        return ClaimTokenSigner(self.claim_token_key_id, key, ttl)

    def key_encryption_keys(self) -> KeyEncryptionKeys:
        return KeyEncryptionKeys.parse(self.kek_current_id, self.keks.get_secret_value())


def parse_private_keys(setting: str) -> dict[str, X25519PrivateKey]:
    """``kid:base64[,kid:base64]`` to keys by id; ValueError naming the bad key id."""
    keys: dict[str, X25519PrivateKey] = {}
    for item in filter(None, (part.strip() for part in setting.split(","))):
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id:
            raise ValueError("HPKE private keys must be written as kid:base64, comma-separated")
        try:
            keys[key_id] = load_private_key(encoded)
        except (ValueError, binascii.Error):
            raise ValueError(f"HPKE private key {key_id!r} is not 32 bytes of base64") from None
    if not keys:
        raise ValueError("at least one HPKE private key is required")
    return keys
