"""The TOTP second factor (RFC 6238, 30-second steps, 6 digits, as authenticator apps
use) and the single-use recovery codes that stand in for it when the phone is lost.

A code is accepted for the step before and after the current one (clock drift), and
only for a step later than the last one accepted, so that a code seen once (over a
shoulder, in a proxy's log) cannot be used again. Recovery codes are kept as SHA-256
digests: they are random (50 bits each), so a slow hash adds nothing."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

import pyotp

ISSUER = "BitLoot admin"
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class SecondFactor(Enum):
    """What the second factor of a login amounts to."""

    NOT_NEEDED = "not_needed"
    MISSING = "missing"
    ACCEPTED = "accepted"
    WRONG = "wrong"
    REPLAYED = "replayed"


@dataclass(frozen=True)
class CodeCheck:
    verdict: SecondFactor
    step: int | None = None


def new_secret() -> str:
    """A random base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from the QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def check_code(secret: str, code: str, now: datetime, last_step: int | None) -> CodeCheck:
    """Whether `code` is the code of a step near `now` not used before."""
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        expected = totp.at(step * STEP_SECONDS)
        if hmac.compare_digest(expected.encode(), code.strip().encode()):
            if last_step is not None and step <= last_step:
                return CodeCheck(SecondFactor.REPLAYED)
            return CodeCheck(SecondFactor.ACCEPTED, step)
    return CodeCheck(SecondFactor.WRONG)


def is_totp_code(code: str) -> bool:
    stripped = code.strip()
    return len(stripped) == 6 and stripped.isdigit()


def new_recovery_codes() -> list[str]:
    """Ten codes like ``k7mxq-2hw9p``, shown to the admin once."""
    return [
        "-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(RECOVERY_CODES)
    ]


def recovery_hash(code: str) -> str:
    """The digest kept of a recovery code; case, spaces and dashes do not matter."""
    normalised = "".join(code.lower().split()).replace("-", "")
    return hashlib.sha256(normalised.encode()).hexdigest()
