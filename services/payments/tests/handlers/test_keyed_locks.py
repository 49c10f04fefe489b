import asyncio

from bitloot_payments.handlers.keyed_locks import KeyedLocks


async def test_one_holder_per_key_at_a_time_and_nothing_kept_afterwards() -> None:
    locks = KeyedLocks()
    inside: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}

    async def work(key: str) -> None:
        async with locks.hold(key):
            inside[key] += 1
            most[key] = max(most[key], inside[key])
            await asyncio.sleep(0.001)
            inside[key] -= 1

    await asyncio.gather(*(work(key) for key in "ab" * 20))
    assert most == {"a": 1, "b": 1}
    assert len(locks) == 0


async def test_a_key_is_released_when_its_holder_fails() -> None:
    locks = KeyedLocks()
    try:
        async with locks.hold("k"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert len(locks) == 0
    async with locks.hold("k"):
        assert len(locks) == 1
