"""Enrolling an admin's TOTP second factor: a secret is proposed, kept pending until the
admin proves its app holds it with a first code, then confirmed with ten recovery codes
(shown once, kept hashed)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from bitloot_admin.domain.totp import (
    SecondFactor,
    check_code,
    new_recovery_codes,
    new_secret,
    provisioning_uri,
    recovery_hash,
)
from bitloot_admin.handlers.accounts import audit
from bitloot_admin.handlers.ports import UsesWork


@dataclass(frozen=True)
class Enrolment:
    """Where an admin stands: enrolled already, or the pending secret to add to an app."""

    enrolled: bool
    secret: str | None
    uri: str | None
    recovery_codes_left: int


class EnrolmentRefused(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class ShowEnrolment(UsesWork):
    """The admin's enrolment; a pending secret is proposed if it has none yet."""

    async def __call__(self, username: str) -> Enrolment:
        async with self._work() as uow:
            account = await uow.accounts.get_for_update(username)
            if account is None:
                raise EnrolmentRefused("admin_unknown", "No such admin.")
            if account.totp_secret is not None:
                left = await uow.accounts.recovery_codes_left(username)
                return Enrolment(True, None, None, left)
            secret = account.totp_pending_secret or new_secret()
            if account.totp_pending_secret is None:
                await uow.accounts.change(username, totp_pending_secret=secret)
                await uow.commit()
        return Enrolment(False, secret, provisioning_uri(secret, username), 0)


class ConfirmTotp(UsesWork):
    """Confirm the pending secret with a code from the app; the recovery codes, in clear
    for this once. `EnrolmentRefused` if nothing is pending or the code is wrong."""

    async def __call__(self, username: str, code: str, now: datetime | None = None) -> list[str]:
        now = now or datetime.now(UTC)
        async with self._work() as uow:
            account = await uow.accounts.get_for_update(username)
            pending = account.totp_pending_secret if account else None
            if account is None or account.totp_secret is not None or pending is None:
                raise EnrolmentRefused("totp_not_pending", "Start the enrolment first.")
            checked = check_code(pending, code, now, None)
            if checked.verdict is not SecondFactor.ACCEPTED:
                await audit(uow, username, "totp_confirm_failed", {}, outcome="rejected")
                raise EnrolmentRefused("invalid_totp", "That code is not the app's current code.")
            codes = new_recovery_codes()
            await uow.accounts.change(
                username, totp_secret=pending, totp_pending_secret=None, totp_last_step=checked.step
            )
            await uow.accounts.replace_recovery_codes(username, [recovery_hash(c) for c in codes])
            await audit(uow, username, "totp_enrolled", {})
            await uow.commit()
        return codes
