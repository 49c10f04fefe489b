import base64
import json

from bitloot_sandbox_nowpayments.tokens import TokenProblem, Tokens


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_token_is_accepted_until_its_lifetime_ends() -> None:
    clock = Clock(1_605_288_384.5)
    tokens = Tokens(300, clock)
    token = tokens.issue()

    clock.now += 299
    assert tokens.check(token) is None
    clock.now += 1
    assert tokens.check(token) is TokenProblem.EXPIRED


def test_a_token_of_another_sandbox_or_tampered_with_is_malformed() -> None:
    tokens = Tokens(300)
    token = tokens.issue()
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    longer = base64.urlsafe_b64encode(json.dumps(claims | {"exp": claims["exp"] + 3600}).encode())

    assert Tokens(300).check(token) is TokenProblem.MALFORMED
    assert tokens.check(f"{header}.{longer.decode()}.{signature}") is TokenProblem.MALFORMED
    assert tokens.check(f"{header}.{payload}") is TokenProblem.MALFORMED
    assert tokens.check("not a token") is TokenProblem.MALFORMED
