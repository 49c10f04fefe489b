"""The fault schedule is random yet replayable from its seed, holds every kind of fault,
and overlaps them; each fault does to its target what it says (a fake target records
the kills and server calls; the proxies, the SMTP hold and the IPN detection are real)."""

import asyncio
import contextlib
import itertools
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest

from bitloot_testing.private_servers import Recovery
from bitloot_testing.proxy import FaultyProxy
from bitloot_testing.servers import PostgresServer
from chaos import faults
from chaos.faults import KINDS, Fault, Happened, schedule

SERVICES = ["payments", "kinguin-gateway", "fulfillment", "delivery", "admin"]
LOAD = 240.0  # `make chaos`: 600 orders at 2.5 a second


def plan(seed: int, load: float = LOAD) -> list[tuple[float, str, str]]:
    return [(f.at, f.kind, f.name) for f in schedule(seed, load, SERVICES)]


def test_the_same_seed_gives_the_same_schedule() -> None:
    assert plan(7) == plan(7)


def test_different_seeds_give_different_schedules() -> None:
    assert len({tuple(plan(seed)) for seed in range(20)}) == 20


def test_every_kind_of_fault_is_in_a_default_length_schedule() -> None:
    for seed in range(20):
        kinds = {fault.kind for fault in schedule(seed, LOAD, SERVICES)}
        assert kinds == set(KINDS), seed


def test_random_sigkills_are_added_and_all_within_the_load() -> None:
    faults_ = schedule(3, LOAD, SERVICES)
    kills = [f for f in faults_ if f.kind == "kill"]
    assert len(kills) > 1 + LOAD / 60 * 3
    assert len({f.name for f in kills}) > 3  # different services and instances
    assert all(0.05 * LOAD <= f.at <= 0.85 * LOAD for f in faults_)
    assert all(f.at + f.lasts <= 0.95 * LOAD for f in faults_)


def test_faults_overlap_but_never_on_one_resource() -> None:
    for seed in range(20):
        faults_ = schedule(seed, LOAD, SERVICES)
        assert faults.overlapping(faults_) >= 3, seed
        for kind in KINDS.values():
            if not kind.resource:
                continue
            mine = [f for f in faults_ if KINDS[f.kind].resource == kind.resource]
            for first, second in itertools.pairwise(mine):
                assert first.at + first.lasts <= second.at, (seed, first, second)


def test_database_backend_faults_never_meet_a_crash_and_the_payout_kill_waits() -> None:
    # Ending backends while the server recovers would fail to inject; a payout kill
    # before any refund was approved kills nothing.
    for seed in range(20):
        faults_ = schedule(seed, LOAD, SERVICES)
        on_postgres = {f.kind for f in faults_ if KINDS[f.kind].resource == "postgres"}
        assert {"pg-terminate", "pg-cancel", "pg-crash", "pg-crash-recovery"} <= on_postgres
        [payout] = [f for f in faults_ if f.kind == "kill-payments-payout"]
        assert payout.at >= 0.4 * LOAD, seed


# --- a fake target ---------------------------------------------------------------------


@dataclass
class FakePostgres:
    url: str = "postgresql://postgres@127.0.0.1:1/postgres"
    calls: list[tuple[str, str]] = field(default_factory=list)

    def crash_restart(self) -> float:
        self.calls.append(("crash", ""))
        return 0.5

    def crash_during_recovery(self, timeout: float = 60) -> Recovery:
        self.calls.append(("crash during recovery", ""))
        return Recovery("starting", 0.7)

    def terminate_backends(self, database_prefix: str) -> int:
        self.calls.append(("terminate", database_prefix))
        return 4

    def cancel_queries(self, database_prefix: str) -> int:
        self.calls.append(("cancel", database_prefix))
        return 2


@dataclass
class FakeRabbit:
    size: int = 3
    calls: list[tuple[str, int]] = field(default_factory=list)

    def kill_node(self, index: int) -> None:
        self.calls.append(("kill", index))

    def start_node(self, index: int) -> None:
        self.calls.append(("start", index))

    async def cut_connections(self) -> None:
        self.calls.append(("cut", -1))


@dataclass
class FakeTarget:
    """Two instances per service; a killed instance gets a new pid at once (its
    supervisor restarts it) and is ready again when asked."""

    postgres: FakePostgres = field(default_factory=FakePostgres)
    rabbit: FakeRabbit = field(default_factory=FakeRabbit)
    proxies: dict[str, FaultyProxy] = field(default_factory=dict)
    database_prefix: str = "chaos_"
    killed: list[str] = field(default_factory=list)
    waited: list[str] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)
    kill_takes: float = 0.0  # seconds a kill takes to complete
    _next: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    def url(self, name: str) -> str:
        return f"http://{name}.invalid"

    def instances(self, name: str) -> list[str]:
        return [f"{name}-1", f"{name}-2"]

    def pid(self, instance: str) -> int | None:
        return self.pids.setdefault(instance, next(self._next))

    async def kill(self, instance: str, sig: int = signal.SIGKILL) -> None:
        assert sig == signal.SIGKILL
        await asyncio.sleep(self.kill_takes)
        self.killed.append(instance)
        self.pids[instance] = next(self._next)

    async def ready_again(self, instance: str, timeout: float) -> float:
        self.waited.append(instance)
        return 0.1


async def act(action: faults.Action, target: FakeTarget) -> faults.Outcome:
    async with httpx.AsyncClient() as http:
        return await action(target, http)


async def test_a_kill_hits_the_drawn_instance_and_waits_until_it_is_ready() -> None:
    target = FakeTarget()
    outcome = await act(faults.kill("delivery", 3), target)
    assert target.killed == target.waited == ["delivery-2"]
    assert outcome.recovery is not None


async def test_two_at_once_and_all_five() -> None:
    target = FakeTarget()
    await act(faults.kill_two("payments", "admin", 0), target)
    assert sorted(target.killed) == ["admin-2", "payments-1"]
    target = FakeTarget()
    await act(faults.kill_all(SERVICES), target)
    assert sorted(target.killed) == sorted(i for s in SERVICES for i in target.instances(s))


async def test_a_kill_during_start_up_kills_the_restarted_process_again() -> None:
    target = FakeTarget()
    outcome = await act(faults.kill_during_startup("fulfillment", 0, 0.01), target)
    assert target.killed == ["fulfillment-1", "fulfillment-1"]
    assert target.waited == ["fulfillment-1"]
    assert "into its restart" in outcome.text


async def test_the_database_faults_call_the_server() -> None:
    target = FakeTarget()
    for action in (
        faults.postgres_backends("terminate"),
        faults.postgres_backends("cancel"),
        faults.postgres_crash(),
        faults.postgres_crash_during_recovery(),
    ):
        await act(action, target)
    assert target.postgres.calls == [
        ("terminate", "chaos_"),
        ("cancel", "chaos_"),
        ("crash", ""),
        ("crash during recovery", ""),
    ]


async def test_a_broker_node_is_killed_then_started_and_connections_cut() -> None:
    target = FakeTarget()
    outcome = await act(faults.rabbit_node(4, 0.01), target)
    assert target.rabbit.calls == [("kill", 1), ("start", 1)]
    assert outcome.recovery is not None
    await act(faults.broker_cut(), target)
    assert target.rabbit.calls[-1] == ("cut", -1)


@contextlib.asynccontextmanager
async def echo_proxy(name: str, greeting: bytes = b"") -> AsyncIterator[FaultyProxy]:
    """A proxy up in front of a server that answers each chunk with "ok"."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(1024):
                writer.write(b"ok\r\n")
                await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    proxy = FaultyProxy(name, "127.0.0.1", server.sockets[0].getsockname()[1])
    await proxy.up()
    try:
        yield proxy
    finally:
        await proxy.close()
        server.close()


async def test_an_outage_takes_the_proxy_down_then_up() -> None:
    async with echo_proxy("s3") as proxy:
        target = FakeTarget(proxies={"s3": proxy})
        running = asyncio.create_task(act(faults.outage("s3", 0.3), target))
        await asyncio.sleep(0.1)
        assert not proxy.is_up
        await running
        assert proxy.is_up


async def test_delivery_is_killed_while_the_smtp_server_s_answer_is_held() -> None:
    async with echo_proxy("smtp") as proxy:
        target = FakeTarget(proxies={"smtp": proxy}, kill_takes=0.3)
        target.pids["delivery-2"] = os.getpid()
        action = faults.kill_delivery_in_smtp(faults.SMTP_END_OF_DATA, "during DATA", wait=5)
        running = asyncio.create_task(act(action, target))
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"MAIL FROM:<a@x>\r\n")
        assert await reader.readline() == b"ok\r\n"  # not held before the pattern
        writer.write(b"Subject: keys\r\n\r\nbody\r\n.\r\n")
        # The server's answer is held until delivery has died, however long that takes;
        # the instance killed is the one whose connection it is ("delivery-2", this
        # process), not the other.
        assert await asyncio.wait_for(reader.readline(), 5) == b"ok\r\n"
        assert target.killed == ["delivery-2"]
        assert "during DATA" in (await running).text
        writer.close()


async def test_delivery_is_not_killed_when_no_mail_is_sent() -> None:
    async with echo_proxy("smtp") as proxy:
        target = FakeTarget(proxies={"smtp": proxy})
        action = faults.kill_delivery_in_smtp(faults.SMTP_ENVELOPE, "before DATA", wait=0.2)
        outcome = await act(action, target)
        assert target.killed == []
        assert "nothing killed" in outcome.text


@pytest.fixture
async def payments_database(postgres_server: PostgresServer, run_id: str) -> AsyncIterator[str]:
    """A database named like payments' with the tables the IPN processor locks; the
    prefix its name starts with."""
    prefix = f"chaos_faults_{run_id}_"
    admin = await asyncpg.connect(postgres_server.url)
    await admin.execute(f'CREATE DATABASE "{prefix}payments"')
    try:
        yield prefix
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{prefix}payments" WITH (FORCE)')
        await admin.close()


async def test_payments_is_killed_inside_an_ipn_transaction_only(
    postgres_server: PostgresServer, payments_database: str
) -> None:
    target = FakeTarget(database_prefix=payments_database)
    target.postgres.url = postgres_server.url
    url = faults.database_url(postgres_server.url, f"{payments_database}payments")
    processor = await asyncpg.connect(url)
    try:
        await processor.execute(
            "CREATE TABLE ipn_log (id int); CREATE TABLE orders (id int);"
            " CREATE TABLE payments (id int); INSERT INTO orders VALUES (1)"
        )
        idle = processor.transaction()  # a pass that claims nothing touches no order
        await idle.start()
        await processor.execute("SELECT * FROM ipn_log FOR UPDATE SKIP LOCKED")
        outcome = await act(faults.kill_ipn_processor(wait=0.3), target)
        assert target.killed == [], outcome.text
        await processor.execute("UPDATE orders SET id = 2")  # applying the claimed IPN
        # The processor's connection is this test's: "payments-2" is this process, so
        # only it is killed (the other instance goes on applying IPNs).
        target.pids["payments-2"] = os.getpid()
        outcome = await act(faults.kill_ipn_processor(wait=5), target)
        assert target.killed == ["payments-2"]
        assert "payments-2 killed inside an IPN transaction" in outcome.text
        await idle.rollback()
    finally:
        await processor.close()


async def test_inject_runs_faults_concurrently_and_logs_failures() -> None:
    target = FakeTarget()

    async def slow(_target: faults.Target, _http: httpx.AsyncClient) -> faults.Outcome:
        await asyncio.sleep(1.0)
        return faults.Outcome("slow done", 1.0)

    async def broken(_target: faults.Target, _http: httpx.AsyncClient) -> faults.Outcome:
        raise RuntimeError("no such proxy")

    plan_ = [
        Fault(0.0, "a", "slow", slow, 1.0),
        Fault(0.1, "b", "broken", broken),
        Fault(0.2, "a", "slow again", slow, 1.0),
    ]
    log: list[Happened] = []
    started = time.monotonic()
    await faults.inject(target, plan_, started, log)
    assert time.monotonic() - started < 1.8  # overlapped: in turn they take 2 s
    assert [h.name for h in log] == ["slow", "broken", "slow again"]
    assert log[0].recovery == 1.0
    assert log[1].outcome.startswith("FAILED to inject: RuntimeError")


async def test_the_ipn_aim_waits_through_a_database_that_is_away() -> None:
    target = FakeTarget()  # its PostgreSQL URL refuses connections, as while restarting
    outcome = await act(faults.kill_ipn_processor(wait=0.5), target)
    assert target.killed == []
    assert "nothing killed" in outcome.text
