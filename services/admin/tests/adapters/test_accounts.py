"""The accounts' SQL on real PostgreSQL where the rules run on the fakes: a recovery code
is spent once, a hash replaced alone lifts no lock, and a change ends the account's
sessions only when told (and finds no account it does not know)."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_admin.adapters.orm import metadata
from bitloot_admin.adapters.unit_of_work import AdminUnitOfWork
from bitloot_admin.domain.lockout import AccountState
from bitloot_admin.domain.roles import Role
from bitloot_admin.migrations import VERSIONS
from bitloot_testing.retention import engine_fixture

engine = engine_fixture(metadata, [VERSIONS])
LOCKED = AccountState(0, datetime(2026, 3, 1, 12, tzinfo=UTC))


async def test_a_code_is_spent_once_a_new_hash_lifts_no_lock_and_a_change_ends_sessions_if_told(
    engine: AsyncEngine,
) -> None:
    async with AdminUnitOfWork(engine) as uow:
        accounts = uow.accounts
        await accounts.upsert("olivia", "old-hash", None)
        await accounts.save_state("olivia", LOCKED)
        await accounts.replace_recovery_codes("olivia", ["a", "b"])
        assert [await accounts.use_recovery_code("olivia", "a") for _ in "12"] == [True, False]
        assert await accounts.recovery_codes_left("olivia") == 1
        await accounts.set_password_hash("olivia", "new-hash")
        assert await accounts.change("olivia", role="owner")
        assert await accounts.change("olivia", ends_sessions=True, totp_last_step=7)
        assert not await accounts.change("nobody", ends_sessions=True, role="owner")
        account = await accounts.get_for_update("olivia")
    assert account is not None
    assert (account.password_hash, account.state) == ("new-hash", LOCKED)
    assert (account.role, account.totp_last_step, account.generation) == (Role.OWNER, 7, 1)
