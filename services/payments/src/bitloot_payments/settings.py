"""Payments settings, from PAYMENTS_* environment variables."""

import base64
import binascii
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit
from uuid import uuid4

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from bitloot_payments.domain.ipn_retry import IpnRetry
from bitloot_payments.domain.reconcile import ReconcilePolicy
from bitloot_runtime.retention import InboundLogRetention
from bitloot_runtime.settings import (
    EdgeSettings,
    RetentionBatchSize,
    RetentionSweepSeconds,
    SigningKey,
)
from bitloot_runtime.tokens import ClaimTokenVerifier, parse_public_keys

# The customer's order page, as a URL template under PAYMENTS_PUBLIC_URL (what the
# checkout answers as `order_url`, and where NOWPayments sends a buyer who paid).
ORDER_PAGE = "/orders/{order_id}?token={order_token}"


class Settings(EdgeSettings):
    """Everything the payments service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="PAYMENTS_", extra="ignore", frozen=True)

    nowpayments_api_url: str = Field(
        description="Base URL of the NOWPayments API (https://api.nowpayments.io)."
    )
    nowpayments_api_key: SecretStr = Field(description="Sent as x-api-key.")
    nowpayments_ipn_secret: SecretStr = Field(description="Verifies x-nowpayments-sig.")
    nowpayments_ipn_secret_previous: SecretStr | None = Field(
        default=None, description="The IPN secret being rotated out, still accepted while set."
    )
    public_url: str = Field(
        description="Our public base URL; NOWPayments calls public_url + /payments/ipn."
    )
    order_token_private_key: SigningKey = Field(
        description="Base64 raw Ed25519 private key that signs order tokens."
    )
    order_token_key_id: str = Field(
        default="k1", min_length=1, description="Key id put in the header of order tokens."
    )
    order_token_ttl_hours: float = Field(
        default=72.0, gt=0, description="Hours an order token stays valid."
    )
    nowpayments_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for one NOWPayments answer."
    )
    nowpayments_attempts: int = Field(
        default=3, ge=1, le=10, description="Attempts per NOWPayments call (429, 5xx, timeout)."
    )
    ipn_poll_interval: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between looks for IPNs stored by another instance or left "
        "pending by a crash (IPNs stored here are processed at once).",
    )

    ipn_max_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Attempts at an IPN that fail the same way, for a reason that is not "
        "transient, before it is given up as `error` and flagged (a transient failure — "
        "connection lost, statement cancelled, deadlock, database restart — is retried "
        "without limit).",
    )
    ipn_retry_delay: float = Field(
        default=1.0, gt=0, description="Seconds before the first retry of a failed IPN."
    )
    ipn_retry_max_delay: float = Field(
        default=60.0,
        gt=0,
        description="Longest wait between retries of a failed IPN (the wait doubles up to it).",
    )

    underpayment_tolerance_percent: Decimal = Field(
        default=Decimal(0),
        ge=0,
        le=10,
        description="A payment short of the asked amount by at most this percent is "
        "accepted and fulfilled, and flagged `underpaid_accepted` (0: every shortfall is "
        "flagged and waits for an admin).",
    )

    nowpayments_email: str | None = Field(
        default=None,
        description="The NOWPayments account's email: with the password, it gets the token "
        "that listing an invoice's payments needs (reconciling an invoice whose IPNs never "
        "came). Without them only payments already heard of are reconciled.",
    )
    nowpayments_password: SecretStr | None = Field(
        default=None, description="The NOWPayments account's password (see the email)."
    )
    reconcile_after_seconds: float = Field(
        default=600.0,
        gt=0,
        description="Seconds after an invoice is created before NOWPayments is first asked "
        "what became of it (then again at doubling intervals) if it is not settled by then.",
    )
    reconcile_max_interval_seconds: float = Field(
        default=21600.0, gt=0, description="Longest wait between two questions about one order."
    )
    invoice_lifetime_seconds: float = Field(
        default=604800.0,
        gt=0,
        description="How long a buyer may take to pay an invoice (NOWPayments expires a "
        "payment left waiting after 7 days).",
    )
    reconcile_grace_seconds: float = Field(
        default=86400.0,
        ge=0,
        description="How long after an invoice's lifetime NOWPayments is still asked about "
        "it; then an order with no payment is marked expired.",
    )
    reconcile_interval: float = Field(
        default=10.0, gt=0, description="Seconds between looks for orders due a reconciliation."
    )
    stuck_after_seconds: float = Field(
        default=900.0,
        gt=0,
        description="A paid order whose fulfilment has not ended this long after payment "
        "is listed as stuck (the admin order list's Stuck and Needs action presets).",
    )
    nowpayments_2fa_secret: SecretStr | None = Field(
        default=None,
        description="The NOWPayments account's 2FA (TOTP, base32) secret: each refund "
        "payout is verified with its code at once. Without it a payout waits in `creating` "
        "until someone verifies it in NOWPayments' dashboard (the code then comes by email).",
    )
    payout_ipn_url: str | None = Field(
        default=None,
        description="Where NOWPayments sends payout IPNs (default: PAYMENTS_PUBLIC_URL + "
        "/payments/payout-ipn).",
    )
    payout_poll_interval: float = Field(
        default=10.0,
        gt=0,
        description="Seconds between looks for refunds to pay out and payouts to ask about "
        "(an approval or a payout IPN is acted on at once).",
    )
    payout_poll_after_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Seconds without news of a payout that is not final before NOWPayments "
        "is asked about it (payout IPNs can be lost).",
    )
    payout_lookup_after_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Seconds after asking for a payout whose answer never came before it is "
        "looked up at NOWPayments by our id (and asked for again only if NOWPayments does "
        "not have it); longer than PAYMENTS_NOWPAYMENTS_TIMEOUT, so no call is still under way.",
    )
    success_url: str | None = Field(
        default=None,
        description="Where NOWPayments sends the buyer once they have paid: a URL template "
        "in which {order_id} is replaced by the order's id and {order_token} by a token "
        "that opens it (default: the customer's order page, PAYMENTS_PUBLIC_URL + "
        "/orders/{order_id}?token={order_token}).",
    )
    support_email: str = Field(
        default="support@bitloot.io",
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Support address the refund claim pages give the customer (as "
        "DELIVERY_SUPPORT_EMAIL does in the emails that link to them).",
    )
    live_status_url: str | None = Field(
        default=None,
        description="Base URL (ws:// or wss://) of fulfillment's live order status, to which "
        "the order page's script appends /ws/orders/{order_id} (default: the page's own "
        "origin, where the Ingress routes /ws/orders to fulfillment).",
    )
    cancel_url: str | None = Field(
        default=None,
        description="Where NOWPayments sends a buyer who gives up paying: a URL template "
        "with {order_id} and {order_token}, like PAYMENTS_SUCCESS_URL (none: NOWPayments' "
        "own page).",
    )

    claim_token_public_keys: str = Field(
        description="Delivery's Ed25519 public keys that verify refund claim links, as "
        "kid:base64[,kid:base64…] (several while delivery rotates its key).",
    )
    claim_attempts_per_hour: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Refund claims (valid or not) accepted per hour from one client address, "
        "and for one refund.",
    )
    claim_links_per_hour: int = Field(
        default=3,
        ge=1,
        le=100,
        description="New claim links one refund may ask for per hour (an expired link's "
        "page); ten times as many per client address.",
    )

    # Retention of the IPN logs, ipn_log and payout_ipns (domain/retention.py states the rules).
    ipn_unauthenticated_retention_days: float = Field(
        default=30.0,
        ge=1,
        description="IPNs (payment and payout) whose signature failed are deleted this long "
        "after they arrived.",
    )
    ipn_retention_days: float = Field(
        default=400.0,
        ge=30,
        description="Authentic IPNs are deleted this long after they arrived, once processed, "
        "named by no flag, and their order ended with no refund owed; authentic payout IPNs "
        "once processed and their payout final with its refund not owed; never before.",
    )
    retention_sweep_seconds: RetentionSweepSeconds
    retention_batch_size: RetentionBatchSize

    # Checkout abuse limits (issue #23): each order asks NOWPayments for an invoice.
    checkout_client_limit: int = Field(
        default=10,
        ge=1,
        description="Orders (POST /orders, valid or idempotent retries alike) accepted from "
        "one client address per PAYMENTS_CHECKOUT_CLIENT_WINDOW_SECONDS; more are refused "
        "with 429 and Retry-After before any order or invoice exists. The client is the one "
        "resolved through PAYMENTS_TRUSTED_PROXIES; IPv6 clients count per /64.",
    )
    checkout_client_window_seconds: float = Field(
        default=600.0, gt=0, le=86400, description="Window of the per-client checkout limit."
    )
    checkout_global_limit: int = Field(
        default=300,
        ge=1,
        description="Orders accepted from everyone together per "
        "PAYMENTS_CHECKOUT_GLOBAL_WINDOW_SECONDS: bounds the invoices many addresses at once "
        "can make the shop ask NOWPayments for. Raise it before a sale.",
    )
    checkout_global_window_seconds: float = Field(
        default=60.0, gt=0, le=86400, description="Window of the shop-wide checkout limit."
    )
    checkout_email_test_domains: bool = Field(
        default=False,
        description="Accept customer addresses under the .test domain (RFC 2606), which "
        "no mail server serves: for the demo and test suites only. Other addresses follow "
        "the rules of the operations guide's Abuse limits section, never with a DNS lookup.",
    )
    checkout_email_smtputf8: bool = Field(
        default=True,
        description="Accept addresses whose mailbox name is not ASCII (josé@…, 用户@…), "
        "which only a mail relay offering SMTPUTF8 (RFC 6531) can deliver to. Set false "
        "when delivery's relay lacks it: such addresses are then refused at checkout (422) "
        "and internationalised domains are kept in their ASCII form, so that no key is "
        "bought for an email that cannot be sent.",
    )

    def claim_verifier(self) -> ClaimTokenVerifier:
        return ClaimTokenVerifier(parse_public_keys(self.claim_token_public_keys))

    def nowpayments_credentials(self) -> tuple[str, str] | None:
        """The account's email and password, when both are set."""
        password = self.nowpayments_password
        if not (self.nowpayments_email and password):
            return None
        return self.nowpayments_email, password.get_secret_value()

    @property
    def stuck_after(self) -> timedelta:
        return timedelta(seconds=self.stuck_after_seconds)

    def reconcile_policy(self) -> ReconcilePolicy:
        return ReconcilePolicy(
            after=timedelta(seconds=self.reconcile_after_seconds),
            max_interval=timedelta(seconds=self.reconcile_max_interval_seconds),
            lifetime=timedelta(seconds=self.invoice_lifetime_seconds),
            grace=timedelta(seconds=self.reconcile_grace_seconds),
        )

    def ipn_retention(self) -> InboundLogRetention:
        return InboundLogRetention.of_days(
            self.ipn_unauthenticated_retention_days, self.ipn_retention_days
        )

    def ipn_retry(self) -> IpnRetry:
        return IpnRetry(
            max_attempts=self.ipn_max_attempts,
            first_delay=self.ipn_retry_delay,
            max_delay=self.ipn_retry_max_delay,
        )

    @field_validator("nowpayments_api_url", "public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("payout_ipn_url")
    @classmethod
    def _optional_http_url(cls, value: str | None) -> str | None:
        return None if value is None else cls._http_url(value)

    @field_validator("nowpayments_2fa_secret")
    @classmethod
    def _base32(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                secret = value.get_secret_value()
                base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
            except binascii.Error:
                raise ValueError("must be a base32 TOTP secret") from None
        return value

    @model_validator(mode="after")
    def _lookup_after_calls_end(self) -> "Settings":
        if self.payout_lookup_after_seconds <= self.nowpayments_timeout:
            raise ValueError(
                "PAYMENTS_PAYOUT_LOOKUP_AFTER_SECONDS must exceed PAYMENTS_NOWPAYMENTS_TIMEOUT"
            )
        return self

    @field_validator("success_url", "cancel_url")
    @classmethod
    def _url_template(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        try:
            value.format(order_id=uuid4(), order_token="")
        except (KeyError, IndexError, ValueError):
            raise ValueError("may name no placeholder but {order_id}, {order_token}") from None
        return value

    @field_validator("live_status_url")
    @classmethod
    def _websocket_base(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("ws", "wss") or not parts.netloc or parts.query:
            raise ValueError("must be a ws:// or wss:// base URL, without a query")
        return value.rstrip("/")

    def success_url_template(self) -> str:
        """Where NOWPayments sends a buyer who paid: the setting, else the order page."""
        return self.success_url or self.public_url + ORDER_PAGE

    def live_status_origin(self) -> str | None:
        """The origin the order page's script connects to (None: the page's own)."""
        if self.live_status_url is None:
            return None
        parts = urlsplit(self.live_status_url)
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("claim_token_public_keys")
    @classmethod
    def _public_keys(cls, value: str) -> str:
        try:
            parse_public_keys(value)
        except (ValueError, binascii.Error) as exc:
            raise ValueError(f"must be kid:base64 Ed25519 public keys ({exc})") from None
        return value
