"""An admin's authenticator app, for tests that log in as an owner: it shows each code
once, as the admin service accepts each time step once, so that a test may log in
several times within 30 seconds (the service accepts the next step's code too; a third
login in one step waits for the clock)."""

import functools
import time

import pyotp

STEP_SECONDS = 30


class Authenticator:
    """The codes of one TOTP secret, never the same step twice."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret or pyotp.random_base32(32)
        self._last_step: int | None = None

    def renew(self) -> str:
        """A new secret (a new account's), whose codes none was seen yet."""
        self.secret, self._last_step = pyotp.random_base32(32), None
        return self.secret

    def code(self) -> str:
        """A code the service has not seen yet from this app."""
        while True:
            current = int(time.time()) // STEP_SECONDS
            step = current if self._last_step is None else max(current, self._last_step + 1)
            if step <= current + 1:
                break
            time.sleep(0.5)
        self._last_step = step
        return pyotp.TOTP(self.secret).at(step * STEP_SECONDS)


@functools.cache
def authenticator(secret: str) -> Authenticator:
    """The one app of `secret` in this process: every caller that logs in with it shares
    the steps it used."""
    return Authenticator(secret)
