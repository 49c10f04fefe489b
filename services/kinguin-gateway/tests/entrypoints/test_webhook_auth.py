"""The webhook authentication matrix: each scheme against each credential presented."""

import pytest
from starlette.datastructures import Headers

from bitloot_kinguin_gateway.entrypoints.webhook_auth import AuthScheme, WebhookAuth
from bitloot_runtime.signatures import hmac_sha512_hex

CURRENT, PREVIOUS = "current-secret", "previous-secret"
BODY = b'{"orderId":"K1","status":"completed","updatedAt":"2026-11-23T10:00:00.000+00:00"}'

CREDENTIALS: dict[str, dict[str, str]] = {
    "current secret": {"X-Event-Secret": CURRENT},
    "previous secret": {"X-Event-Secret": PREVIOUS},
    "wrong secret": {"X-Event-Secret": "guess"},
    "secret prefix": {"X-Event-Secret": CURRENT[:-1]},
    "secret in upper case": {"X-Event-Secret": CURRENT.upper()},
    "current signature": {"X-KINGUIN-SIGNATURE": hmac_sha512_hex(CURRENT, BODY)},
    "previous signature": {"X-KINGUIN-SIGNATURE": hmac_sha512_hex(PREVIOUS, BODY)},
    "upper-case signature": {"X-KINGUIN-SIGNATURE": hmac_sha512_hex(CURRENT, BODY).upper()},
    "signature of another body": {"X-KINGUIN-SIGNATURE": hmac_sha512_hex(CURRENT, b"{}")},
    "secret as signature": {"X-KINGUIN-SIGNATURE": CURRENT},
    "nothing": {},
}
GOOD_SECRETS = {"current secret", "previous secret"}
# Hex is hex in either case.
GOOD_SIGNATURES = {"current signature", "previous signature", "upper-case signature"}
ACCEPTED: dict[AuthScheme, set[str]] = {
    "secret": GOOD_SECRETS,
    "signature": GOOD_SIGNATURES,
    "either": GOOD_SECRETS | GOOD_SIGNATURES,
}


@pytest.mark.parametrize("scheme", ["secret", "signature", "either"])
@pytest.mark.parametrize("credential", sorted(CREDENTIALS))
def test_a_webhook_is_accepted_only_with_a_credential_its_scheme_allows(
    scheme: AuthScheme, credential: str
) -> None:
    auth = WebhookAuth(scheme, (CURRENT, PREVIOUS), "X-Event-Secret")
    accepted = auth.verify(Headers(CREDENTIALS[credential]), BODY)
    assert accepted == (credential in ACCEPTED[scheme])


def test_the_secret_header_name_is_configurable_and_the_default_one_then_ignored() -> None:
    auth = WebhookAuth("secret", (CURRENT,), "X-Auth-Token")
    assert auth.verify(Headers({"x-auth-token": CURRENT}), BODY)
    assert not auth.verify(Headers({"X-Event-Secret": CURRENT}), BODY)


def test_logged_headers_never_carry_a_secret_or_a_signature() -> None:
    auth = WebhookAuth("either", (CURRENT,), "X-Auth-Token")
    headers = Headers(
        {
            "X-Auth-Token": CURRENT,
            "X-KINGUIN-SIGNATURE": "ab" * 64,
            "X-Event-Name": "order.status",
        }
    )
    logged = auth.loggable(headers)
    assert logged == {
        "x-auth-token": "[REDACTED]",
        "x-kinguin-signature": "[REDACTED]",
        "x-event-name": "order.status",
    }
