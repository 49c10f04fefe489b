import base64
import json
import time

import pytest
from nowpayments_harness import EMAIL, PASSWORD, Sandbox, serving, token

from bitloot_sandbox_common.receiver import Receiver


def claims(jwt: str) -> tuple[dict[str, object], dict[str, object]]:
    """The header and payload of `jwt`, decoded without checking its signature."""
    header, payload, _signature = jwt.split(".")

    def decode(part: str) -> dict[str, object]:
        decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=="))
        return decoded

    return decode(header), decode(payload)


async def test_auth_answers_an_hs256_jwt_that_expires_in_five_minutes(sandbox: Sandbox) -> None:
    before = int(time.time())

    jwt = await token(sandbox)

    header, payload = claims(jwt)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert isinstance(payload["iat"], int)
    assert before <= payload["iat"] <= time.time()
    assert payload["exp"] == payload["iat"] + 300
    assert isinstance(payload["id"], str)


async def test_auth_needs_no_api_key(sandbox: Sandbox) -> None:
    answer = await sandbox.client.post(
        "/v1/auth", json={"email": EMAIL, "password": PASSWORD}, headers={"x-api-key": ""}
    )

    assert answer.status_code == 200
    assert set(answer.json()) == {"token"}


@pytest.mark.parametrize(
    ("email", "password"),
    [(EMAIL, "wrong"), ("someone@example.com", PASSWORD), (EMAIL.lower(), PASSWORD)],
)
async def test_auth_with_wrong_or_differently_cased_credentials_is_refused(
    sandbox: Sandbox, email: str, password: str
) -> None:
    answer = await sandbox.client.post("/v1/auth", json={"email": email, "password": password})

    assert answer.status_code == 401
    assert answer.json() == {
        "status": False,
        "statusCode": 401,
        "code": "INVALID_CREDENTIALS",
        "message": "Invalid email or password",
    }


async def test_auth_without_a_password_is_an_invalid_request(sandbox: Sandbox) -> None:
    answer = await sandbox.client.post("/v1/auth", json={"email": EMAIL})

    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_REQUEST_PARAMS"
    assert answer.json()["message"] == '"password" is required'


async def test_token_lifetime_is_configurable(receiver: Receiver) -> None:
    async with serving(receiver, token_ttl=60) as sandbox:
        _header, payload = claims(await token(sandbox))

    assert isinstance(payload["iat"], int)
    assert payload["exp"] == payload["iat"] + 60
