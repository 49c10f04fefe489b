"""`python -m bitloot_demo.compose_env > .env` (`make compose-env`): fresh secrets for
`docker compose`, which reads `.env` beside docker-compose.yml. Never commit the output.

With `--shop-host` and `--keys-host` (the names the optional TLS proxy serves, compose's
`proxy` profile), the links customers follow point at those hosts over HTTPS, and `.env`
gets the real providers' settings (`BITLOOT_PROD_*`, deploy/compose/public.yml) to fill
in; without, at the services' ports on localhost."""

import argparse
import re
import secrets
import sys

from bitloot_launch.wiring import HPKE_KEY_ID, KEK_ID, Secrets


def _password() -> str:
    # Hex: safe unquoted in .env and inside the AMQP and PostgreSQL URLs compose builds.
    return secrets.token_hex(24)


def public_urls(shop_host: str | None, keys_host: str | None) -> dict[str, str]:
    """The public links' bases: through the proxy when both hosts are named."""
    if shop_host and keys_host:
        return {
            "BITLOOT_SHOP_HOST": shop_host,
            "BITLOOT_KEYS_HOST": keys_host,
            # NOWPayments calls PUBLIC_URL + /payments/ipn; buyers land on its order page.
            "BITLOOT_PAYMENTS_PUBLIC_URL": f"https://{shop_host}",
            "BITLOOT_LIVE_STATUS_URL": f"wss://{shop_host}",
            "BITLOOT_REFUND_CLAIM_URL": f"https://{shop_host}/refunds/claim",
            "BITLOOT_DELIVERY_PUBLIC_URL": f"https://{keys_host}",
        }
    return {
        # The proxy, if started anyway, serves these with its own local certificate.
        "BITLOOT_SHOP_HOST": "shop.localhost",
        "BITLOOT_KEYS_HOST": "keys.localhost",
        # The sandbox, inside compose's network, posts the IPNs.
        "BITLOOT_PAYMENTS_PUBLIC_URL": "http://payments:8000",
        # The order page's script, in a browser on this host, reaches fulfillment's port.
        "BITLOOT_LIVE_STATUS_URL": "ws://localhost:8003",
        "BITLOOT_REFUND_CLAIM_URL": "http://localhost:8001/refunds/claim",
        "BITLOOT_DELIVERY_PUBLIC_URL": "http://localhost:8004",
    }


# A bare DNS name: no scheme, port, path or address-only oddities.
HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.I)

# The real providers, S3 store and SMTP relay for deploy/compose/public.yml: defaults
# where there is one, else empty for the operator (compose refuses to start until set).
PROD = {
    "BITLOOT_PROD_NOWPAYMENTS_API_URL": "https://api.nowpayments.io",
    "BITLOOT_PROD_NOWPAYMENTS_API_KEY": "",
    "BITLOOT_PROD_NOWPAYMENTS_IPN_SECRET": "",
    "BITLOOT_PROD_NOWPAYMENTS_EMAIL": "",
    "BITLOOT_PROD_NOWPAYMENTS_PASSWORD": "",
    "BITLOOT_PROD_NOWPAYMENTS_2FA_SECRET": "",
    "BITLOOT_PROD_KINGUIN_API_URL": "https://gateway.kinguin.net/esa/api",
    "BITLOOT_PROD_KINGUIN_API_KEY": "",
    "BITLOOT_PROD_KINGUIN_WEBHOOK_SECRET": "",
    "BITLOOT_PROD_S3_ENDPOINT_URL": "",
    "BITLOOT_PROD_S3_REGION": "auto",
    "BITLOOT_PROD_S3_BUCKET": "",
    "BITLOOT_PROD_S3_ACCESS_KEY_ID": "",
    "BITLOOT_PROD_S3_SECRET_ACCESS_KEY": "",
    "BITLOOT_PROD_SMTP_HOST": "",
    "BITLOOT_PROD_SMTP_PORT": "587",
    "BITLOOT_PROD_SMTP_USERNAME": "",
    "BITLOOT_PROD_SMTP_PASSWORD": "",
    "BITLOOT_PROD_MAIL_FROM": "",
    "BITLOOT_PROD_SUPPORT_EMAIL": "",
}
WARNING = """\
compose_env: the `proxy` profile alone serves the provider SANDBOXES to the internet
(every invoice auto-paid, pay-now links to localhost, keys from a fake Kinguin).
To serve customers, fill in the empty BITLOOT_PROD_* lines of .env, then run
  docker compose -f docker-compose.yml -f deploy/compose/public.yml --profile proxy up -d
(docs/operations.md, "docker compose")."""


def host_problem(shop_host: str, keys_host: str) -> str | None:
    """Why the two public names cannot be served, or None."""
    for option, host in (("--shop-host", shop_host), ("--keys-host", keys_host)):
        if not HOST.match(host):
            return f"{option} {host!r} is not a bare DNS name (no scheme, port or path)"
    if shop_host.lower() == keys_host.lower():
        return "--shop-host and --keys-host must differ (both serve /orders/...)"
    return None


def compose_env(
    keys: Secrets,
    grafana_admin_password: str | None = None,
    *,
    shop_host: str | None = None,
    keys_host: str | None = None,
) -> str:
    """The `.env` lines. Grafana's, the broker's and the database's passwords are compose's
    alone: the services get the last two inside their AMQP and database URLs."""
    if grafana_admin_password is None:
        grafana_admin_password = secrets.token_urlsafe(18)
    values = {
        "BITLOOT_INTERNAL_TOKEN": keys.internal_token,
        "BITLOOT_NOWPAYMENTS_API_KEY": keys.nowpayments_api_key,
        "BITLOOT_NOWPAYMENTS_IPN_SECRET": keys.nowpayments_ipn_secret,
        "BITLOOT_NOWPAYMENTS_PASSWORD": keys.nowpayments_password,
        "BITLOOT_NOWPAYMENTS_2FA_SECRET": keys.nowpayments_2fa_secret,
        "BITLOOT_KINGUIN_API_KEY": keys.kinguin_api_key,
        "BITLOOT_KINGUIN_WEBHOOK_SECRET": keys.kinguin_webhook_secret,
        "BITLOOT_ORDER_TOKEN_PRIVATE_KEY": keys.order_token_private_key,
        "BITLOOT_ORDER_TOKEN_PUBLIC_KEYS": keys.order_token_public_keys,
        "BITLOOT_CLAIM_TOKEN_PRIVATE_KEY": keys.claim_token_private_key,
        "BITLOOT_CLAIM_TOKEN_PUBLIC_KEYS": keys.claim_token_public_keys,
        "BITLOOT_DELIVERY_HPKE_PRIVATE_KEYS": f"{HPKE_KEY_ID}:{keys.hpke_private_key}",
        "BITLOOT_DELIVERY_HPKE_PUBLIC_KEY": keys.hpke_public_key,
        "BITLOOT_DELIVERY_KEKS": f"{KEK_ID}:{keys.kek}",
        "BITLOOT_DELIVERY_LINK_SECRET": keys.link_secret,
        "BITLOOT_ADMIN_SESSION_PRIVATE_KEY": keys.admin_session_private_key,
        "BITLOOT_ADMIN_TOKEN_PUBLIC_KEYS": keys.admin_token_public_keys,
        "BITLOOT_ADMIN_PASSWORD": keys.admin_password,
        "BITLOOT_S3_SECRET_ACCESS_KEY": keys.s3_secret_access_key,
        "BITLOOT_GRAFANA_ADMIN_PASSWORD": grafana_admin_password,
        "BITLOOT_RABBITMQ_PASSWORD": _password(),
        "BITLOOT_POSTGRES_PASSWORD": _password(),
        **public_urls(shop_host, keys_host),
    }
    lines = ["# Secrets for docker compose, generated by `make compose-env`. Do not commit."]
    lines += [f"{name}={value}" for name, value in values.items()]
    if shop_host and keys_host:
        lines.append(
            "# The real providers, S3 store and SMTP relay (deploy/compose/public.yml): fill"
            " in every empty line."
        )
        lines += [f"{name}={value}" for name, value in PROD.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shop-host", help="the shop's public name (proxy profile)")
    parser.add_argument("--keys-host", help="the key reveal pages' public name (proxy profile)")
    args = parser.parse_args(argv)
    if bool(args.shop_host) != bool(args.keys_host):
        parser.error("name both --shop-host and --keys-host, or neither")
    if args.shop_host:
        problem = host_problem(args.shop_host, args.keys_host)
        if problem:
            parser.error(problem)
    env = compose_env(Secrets.generate(), shop_host=args.shop_host, keys_host=args.keys_host)
    print(env, end="")
    if args.shop_host:
        print(WARNING, file=sys.stderr)


if __name__ == "__main__":
    main()
