"""The accounts' SQL on real PostgreSQL where the login's rules run on the fakes: a
recovery code is spent once, and a hash replaced alone lifts no lock."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_admin.adapters.orm import metadata
from bitloot_admin.adapters.unit_of_work import AdminUnitOfWork
from bitloot_admin.domain.lockout import AccountState
from bitloot_admin.migrations import VERSIONS
from bitloot_testing.retention import engine_fixture

engine = engine_fixture(metadata, [VERSIONS])
LOCKED = AccountState(0, datetime(2026, 3, 1, 12, tzinfo=UTC))


async def test_a_recovery_code_is_spent_once_and_a_new_hash_lifts_no_lock(
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
        account = await accounts.get_for_update("olivia")
    assert account is not None
    assert (account.password_hash, account.state) == ("new-hash", LOCKED)
