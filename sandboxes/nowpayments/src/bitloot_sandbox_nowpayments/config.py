"""The sandbox's configuration: defaults good for tests, `from_env()` for a process."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from bitloot_sandbox_common.env import ConfigError, EnvReader

ENV_PREFIX = "NOWPAYMENTS_SANDBOX_"

__all__ = ["ConfigError", "NowPaymentsSandboxConfig"]


@dataclass(frozen=True)
class NowPaymentsSandboxConfig:
    """How the NOWPayments sandbox behaves.

    `public_url` is the base of `invoice_url` (default: the base URL the API was called
    on); `ipn_delay` separates the IPNs of one payment; `auto_pay` pays every invoice
    (status finished) right after it is created; `callback_*` tune IPN retries.
    `email` and `password` are the dashboard login ``POST /v1/auth`` accepts (compared
    case-sensitively, as documented); its JWT lives `token_ttl` seconds (documented: 5
    minutes). Payouts: `two_fa_secret` is the account's 2FA (TOTP, base32) secret whose
    codes ``POST /v1/payout/{id}/verify`` accepts; every currency the sandbox knows starts
    with `payout_balance` units; `payout_delay` separates a payout's steps.
    """

    api_key: str = "sandbox-nowpayments-api-key"
    ipn_secret: str = "sandbox-nowpayments-ipn-secret"  # noqa: S105 - a well-known test value
    email: str = "sandbox@nowpayments.test"
    password: str = "sandbox-nowpayments-password"  # noqa: S105 - a well-known test value
    token_ttl: int = 300
    host: str = "127.0.0.1"
    port: int = 8701
    public_url: str | None = None
    ipn_delay: float = 0.2
    auto_pay: bool = False
    default_pay_currency: str = "usdttrc20"
    callback_attempts: int = 4
    callback_backoff: float = 0.2
    callback_timeout: float = 5.0
    two_fa_secret: str = "JBSWY3DPEHPK3PXPBITLOOTSANDBOX22"  # noqa: S105 - a well-known test value
    payout_balance: float = 10_000.0
    payout_delay: float = 0.2

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The configuration from `NOWPAYMENTS_SANDBOX_*` variables, defaults elsewhere."""
        env = EnvReader(ENV_PREFIX, environ)
        default = cls()
        token_ttl = env.integer("TOKEN_TTL", default.token_ttl)
        if token_ttl < 0:
            raise ConfigError(f"{ENV_PREFIX}TOKEN_TTL has value {token_ttl!r}. Not a duration.")
        return cls(
            api_key=env.text("API_KEY", default.api_key),
            ipn_secret=env.text("IPN_SECRET", default.ipn_secret),
            email=env.text("EMAIL", default.email),
            password=env.text("PASSWORD", default.password),
            token_ttl=token_ttl,
            host=env.text("HOST", default.host),
            port=env.integer("PORT", default.port),
            public_url=env.optional("PUBLIC_URL"),
            ipn_delay=env.number("IPN_DELAY", default.ipn_delay),
            auto_pay=env.boolean("AUTO_PAY", default.auto_pay),
            default_pay_currency=env.text("DEFAULT_PAY_CURRENCY", default.default_pay_currency),
            callback_attempts=env.integer("CALLBACK_ATTEMPTS", default.callback_attempts),
            callback_backoff=env.number("CALLBACK_BACKOFF", default.callback_backoff),
            callback_timeout=env.number("CALLBACK_TIMEOUT", default.callback_timeout),
            two_fa_secret=env.text("TWO_FA_SECRET", default.two_fa_secret),
            payout_balance=env.number("PAYOUT_BALANCE", default.payout_balance),
            payout_delay=env.number("PAYOUT_DELAY", default.payout_delay),
        )
