"""What goes wrong during the run, and when: a random schedule, reproducible from its seed.

`schedule(seed, load_seconds, services)` draws, with `random.Random(seed)`, every kind of
fault at least once (`KINDS`) and then more SIGKILLs of random instances at random
moments, all within the load, so that they overlap: a kill while the database recovers,
an outage while a broker node is down. The same seed gives the same schedule (the run
prints it; ``--seed`` replays it); which instance of a service is hit is drawn too.

The faults act on a `Target`: the chaos stack (its supervisor restarts what is killed,
as compose and Kubernetes do), its PostgreSQL and RabbitMQ cluster, and the proxies in
front of S3 and SMTP. Each fault ends with what happened and, where that makes sense,
how long the target took to recover (`Happened`).
"""

import asyncio
import contextlib
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import asyncpg
import httpx

from bitloot_launch.wiring import SERVICES
from bitloot_testing.private_servers import Recovery
from bitloot_testing.proxy import FaultyProxy

READY_TIMEOUT = 180.0  # seconds a killed instance may take to answer its ready path again


class Postgres(Protocol):
    """The run's PostgreSQL (`bitloot_testing.private_servers.PrivatePostgres`)."""

    @property
    def url(self) -> str: ...
    def crash_restart(self) -> float: ...
    def crash_during_recovery(self, timeout: float = 60) -> Recovery: ...
    def terminate_backends(self, database_prefix: str) -> int: ...
    def cancel_queries(self, database_prefix: str) -> int: ...


class Rabbit(Protocol):
    """The run's RabbitMQ cluster (`bitloot_testing.private_servers.PrivateRabbitCluster`)."""

    @property
    def size(self) -> int: ...
    def kill_node(self, index: int) -> None: ...
    def start_node(self, index: int) -> None: ...
    async def cut_connections(self) -> None: ...


class Target(Protocol):
    """What the faults break: the chaos stack around the launcher's supervisor.

    `instances(name)` are a service's instance ids (``payments-1``); `pid` is an
    instance's process while it runs; `kill` SIGKILLs it (the supervisor restarts it);
    `ready_again` waits until it answers its ready path, in seconds. `proxies` holds
    ``"s3"`` and ``"smtp"``; `database_prefix` names the services' databases."""

    @property
    def postgres(self) -> Postgres: ...
    @property
    def rabbit(self) -> Rabbit: ...
    @property
    def proxies(self) -> dict[str, FaultyProxy]: ...
    @property
    def database_prefix(self) -> str: ...
    def url(self, name: str) -> str: ...
    def instances(self, name: str) -> list[str]: ...
    def pid(self, instance: str) -> int | None: ...
    async def kill(self, instance: str) -> None: ...  # SIGKILL
    async def ready_again(self, instance: str, timeout: float) -> float: ...


@dataclass(frozen=True)
class Outcome:
    """What a fault did, and seconds until the target recovered (None: not measured)."""

    text: str
    recovery: float | None = None


Action = Callable[[Target, httpx.AsyncClient], Awaitable[Outcome]]


@dataclass(frozen=True)
class Fault:
    """One fault of the schedule: when (seconds after the load starts), its kind (one of
    `KINDS`), a name saying what it hits, and what it does."""

    at: float
    kind: str
    name: str
    action: Action
    lasts: float = 0.0  # seconds it keeps the target broken on purpose (outages, windows)


@dataclass(frozen=True)
class Happened:
    """A fault as it went: when it began, what it did, how long recovery took."""

    at: float
    name: str
    outcome: str
    kind: str = ""
    recovery: float | None = None


# --- killing instances -----------------------------------------------------------------


def pick(target: Target, service: str, draw: int) -> str:
    """The instance of `service` the schedule's `draw` names (the same draw, the same
    instance, however many instances run)."""
    instances = target.instances(service)
    return instances[draw % len(instances)]


async def sigkill(target: Target, instances: Sequence[str]) -> float:
    """SIGKILL `instances` together; when the kill began (monotonic clock), for
    `until_ready`. Aimed faults release what they held between the two."""
    started = time.monotonic()
    await asyncio.gather(*(target.kill(instance) for instance in instances))
    return started


async def until_ready(target: Target, instances: Sequence[str], killed_at: float) -> float:
    """Seconds from `killed_at` until the last of `instances` answers its ready path
    again (the supervisor restarts them)."""
    await asyncio.gather(*(target.ready_again(i, READY_TIMEOUT) for i in instances))
    return time.monotonic() - killed_at


async def kill_and_wait(target: Target, instances: Sequence[str]) -> float:
    """SIGKILL `instances` together; seconds until the last is ready again."""
    return await until_ready(target, instances, await sigkill(target, instances))


def kill(service: str, draw: int) -> Action:
    async def act(target: Target, _http: httpx.AsyncClient) -> Outcome:
        instance = pick(target, service, draw)
        seconds = await kill_and_wait(target, [instance])
        return Outcome(f"{instance} ready again {seconds:.1f} s after SIGKILL", seconds)

    return act


def kill_two(first: str, second: str, draw: int) -> Action:
    """Two processes at once (of two services, or both instances of one)."""

    async def act(target: Target, _http: httpx.AsyncClient) -> Outcome:
        victims = sorted({pick(target, first, draw), pick(target, second, draw + 1)})
        seconds = await kill_and_wait(target, victims)
        return Outcome(f"{' and '.join(victims)} ready again {seconds:.1f} s after", seconds)

    return act


def kill_all(services: Sequence[str]) -> Action:
    """Every instance of every service at once: the whole application restarts."""

    async def act(target: Target, _http: httpx.AsyncClient) -> Outcome:
        victims = [instance for service in services for instance in target.instances(service)]
        seconds = await kill_and_wait(target, victims)
        return Outcome(f"{len(victims)} processes; all ready again {seconds:.1f} s after", seconds)

    return act


def kill_during_startup(service: str, draw: int, delay: float) -> Action:
    """SIGKILL an instance, then its restarted process `delay` seconds after it appears:
    while it imports, connects and runs its migrations, before it is ready."""

    async def act(target: Target, _http: httpx.AsyncClient) -> Outcome:
        instance = pick(target, service, draw)
        started = time.monotonic()
        before = target.pid(instance)
        await target.kill(instance)
        pid = await new_pid(target, instance, before, timeout=60)
        if pid is None:
            return Outcome(f"{instance} was not restarted within 60 s")
        await asyncio.sleep(delay)
        await target.kill(instance)
        await target.ready_again(instance, READY_TIMEOUT)
        seconds = time.monotonic() - started
        text = (
            f"{instance} killed {delay * 1000:.0f} ms into its restart; ready {seconds:.1f} s after"
        )
        return Outcome(text, seconds)

    return act


async def new_pid(target: Target, instance: str, old: int | None, timeout: float) -> int | None:
    """The pid of `instance`'s next process once the supervisor started it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = target.pid(instance)
        if pid is not None and pid != old:
            return pid
        await asyncio.sleep(0.005)
    return None


# --- aimed kills -----------------------------------------------------------------------

# A payments transaction that has claimed an IPN (``FOR UPDATE`` on ipn_log: RowShareLock)
# and has begun applying it (a lock on orders or payments): the IPN processor inside its
# transaction. An idle pass claims nothing and touches neither table.
IN_IPN_TRANSACTION = """
SELECT a.client_port FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
  AND a.xact_start IS NOT NULL
  AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid
              AND l.relation = 'ipn_log'::regclass AND l.mode = 'RowShareLock')
  AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid
              AND l.relation IN ('orders'::regclass, 'payments'::regclass))
"""


def database_url(server_url: str, database: str) -> str:
    return f"{server_url.rsplit('/', 1)[0]}/{database}"


def kill_ipn_processor(wait: float = 60.0) -> Action:
    """SIGKILL the payments instance whose IPN processor is inside the transaction
    applying an IPN (seen in PostgreSQL's locks, polled every few ms; the instance is the
    process holding that connection's socket): the IPN stays pending and the other
    instance, or this one restarted, must apply it exactly once. Every instance is killed
    when the owner cannot be told (the connection gone meanwhile)."""

    async def act(target: Target, _http: httpx.AsyncClient) -> Outcome:
        url = database_url(target.postgres.url, f"{target.database_prefix}payments")
        rows = await seen(url, IN_IPN_TRANSACTION, wait)
        if not rows:
            return Outcome(f"no IPN being applied within {wait:.0f} s; nothing killed")
        instances = target.instances("payments")
        owner = connection_owner(int(str(rows[0])), {i: target.pid(i) for i in instances})
        victims = [owner] if owner else instances
        seconds = await kill_and_wait(target, victims)
        return Outcome(
            f"{', '.join(victims)} killed inside an IPN transaction;"
            f" ready again {seconds:.1f} s after",
            seconds,
        )

    return act


def connection_owner(local_port: int, pids: Mapping[str, int | None]) -> str | None:
    """Which of `pids` (instance -> process) holds the TCP socket whose local port is
    `local_port` (a database client's `client_port`), read from /proc: the socket's
    inode in /proc/net/tcp{,6}, then the process with that inode among its open files."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                    inodes.add(f"socket:[{fields[9]}]")
    for instance, pid in pids.items():
        if pid is None:
            continue
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return instance
    return None


async def seen(url: str, query: str, wait: float) -> list[object]:
    """The first column of `query`'s rows once it returned any within `wait` seconds
    (tried every 5 ms; [] if none did); through a database restart (another fault) it
    connects again."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            connection = await asyncpg.connect(url, timeout=5)
        except (OSError, TimeoutError, asyncpg.PostgresError):
            await asyncio.sleep(0.2)
            continue
        try:
            while time.monotonic() < deadline:
                if rows := await connection.fetch(query):
                    return [row[0] for row in rows]
                await asyncio.sleep(0.005)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            continue
        finally:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await connection.close()
    return []


def kill_gateway_mid_purchase(hold: float = 3.0) -> Action:
    """SIGKILL the gateway while Kinguin has taken its purchases but not yet answered
    them (the sandbox holds each ``POST /v2/order`` answer `hold` seconds): the restarted
    gateway must find each of those orders by ``orderExternalId``, never buy again."""

    async def act(target: Target, http: httpx.AsyncClient) -> Outcome:
        sandbox = target.url("kinguin-sandbox")
        before = len((await http.get(f"{sandbox}/sandbox/calls")).json())
        await http.post(f"{sandbox}/sandbox/faults", json={"hold_order_answer_seconds": int(hold)})
        await asyncio.sleep(hold * 2 / 3)
        calls: list[str] = (await http.get(f"{sandbox}/sandbox/calls")).json()
        held = calls[before:].count("POST /v2/order")
        victims = target.instances("kinguin-gateway")
        killed_at = await sigkill(target, victims)
        await http.post(f"{sandbox}/sandbox/faults", json={"hold_order_answer_seconds": 0})
        seconds = await until_ready(target, victims, killed_at)
        return Outcome(
            f"{held} purchases unanswered at the kill; ready again {seconds:.1f} s after", seconds
        )

    return act


async def payouts_made(http: httpx.AsyncClient, sandbox: str) -> list[str]:
    """The `unique_external_id` of every payout the NOWPayments sandbox made, in order."""
    batches = (await http.get(f"{sandbox}/sandbox/payouts")).json()
    return [str(w["unique_external_id"]) for batch in batches for w in batch["withdrawals"]]


def kill_payments_mid_payout(hold: float = 30.0, wait: float = 15.0) -> Action:
    """SIGKILL payments after NOWPayments has made a refund payout but before payments
    heard so (the sandbox holds the next ``POST /v1/payout`` answer `hold` seconds): the
    restarted payout runner must find that payout by its ``unique_external_id`` and never
    pay again. Waits up to `wait` seconds for a payout; none then, nothing is killed."""

    async def act(target: Target, http: httpx.AsyncClient) -> Outcome:
        sandbox = target.url("nowpayments-sandbox")
        before = len(await payouts_made(http, sandbox))
        held = {"hold_payouts": 1, "hold_ms": int(hold * 1000)}
        (await http.post(f"{sandbox}/sandbox/faults", json=held)).raise_for_status()
        deadline, made = time.monotonic() + wait, list[str]()
        while not made and time.monotonic() < deadline:
            made = (await payouts_made(http, sandbox))[before:]
            await asyncio.sleep(0.1)
        victims = target.instances("payments") if made else []
        killed_at = await sigkill(target, victims)
        released = {"hold_payouts": 0, "hold_ms": 0}
        (await http.post(f"{sandbox}/sandbox/faults", json=released)).raise_for_status()
        if not made:
            return Outcome(f"no refund paid out within {wait:.0f} s; nothing killed")
        seconds = await until_ready(target, victims, killed_at)
        return Outcome(
            f"payout {made[0]} made, answer held at the kill; ready again {seconds:.1f} s after",
            seconds,
        )

    return act


# What delivery's SMTP client sends: before DATA (the envelope), and the end of DATA.
SMTP_ENVELOPE = b"RCPT TO:"
SMTP_END_OF_DATA = b"\r\n.\r\n"


def kill_delivery_in_smtp(pattern: bytes, moment: str, wait: float = 60.0) -> Action:
    """SIGKILL delivery in the middle of an SMTP conversation: the proxy in front of
    the SMTP server holds the server's answers once the client has sent `pattern` (the
    envelope: nothing sent yet; the end of DATA: the server has taken the message and
    the sender does not know). The instance that sent it is killed (the process holding
    the connection's socket); every instance when it cannot be told."""

    async def act(target: Target, _http: httpx.AsyncClient) -> Outcome:
        proxy, victims = target.proxies["smtp"], target.instances("delivery")
        watch = proxy.watch(pattern, hold=True)
        try:
            await asyncio.wait_for(watch.seen.wait(), wait)
            if watch.client_port is not None:
                pids = {instance: target.pid(instance) for instance in victims}
                owner = connection_owner(watch.client_port, pids)
                victims = [owner] if owner else victims
            killed_at = await sigkill(target, victims)
        except TimeoutError:
            return Outcome(f"no email {moment} within {wait:.0f} s; nothing killed")
        finally:
            proxy.unwatch(watch)  # the held answers go to a dead client
        seconds = await until_ready(target, victims, killed_at)
        return Outcome(
            f"{', '.join(victims)} killed {moment}; ready again {seconds:.1f} s after", seconds
        )

    return act


# --- the servers -----------------------------------------------------------------------


def postgres_crash() -> Action:
    async def act(target: Target, _http: httpx.AsyncClient) -> Outcome:
        seconds = await asyncio.to_thread(target.postgres.crash_restart)
        return Outcome(f"accepting connections {seconds:.1f} s after the restart", seconds)

    return act


def postgres_crash_during_recovery() -> Action:
    async def act(target: Target, _http: httpx.AsyncClient) -> Outcome:
        recovery = await asyncio.to_thread(target.postgres.crash_during_recovery)
        text = (
            f"postmaster killed while {recovery.killed_while}; accepting connections"
            f" {recovery.seconds:.1f} s after the second start"
        )
        return Outcome(text, recovery.seconds)

    return act


def postgres_backends(how: str) -> Action:
    """``pg_terminate_backend`` ("terminate") or ``pg_cancel_backend`` ("cancel") on every
    service's connection or running query."""

    async def act(target: Target, _http: httpx.AsyncClient) -> Outcome:
        server, prefix = target.postgres, target.database_prefix
        call = server.terminate_backends if how == "terminate" else server.cancel_queries
        count = await asyncio.to_thread(call, prefix)
        what = "connections terminated" if how == "terminate" else "queries cancelled"
        return Outcome(f"{count} {what}")

    return act


def rabbit_node(draw: int, down: float) -> Action:
    """SIGKILL one broker node, leave it down `down` seconds, start it on its data."""

    async def act(target: Target, _http: httpx.AsyncClient) -> Outcome:
        index = draw % target.rabbit.size
        await asyncio.to_thread(target.rabbit.kill_node, index)
        await asyncio.sleep(down)
        started = time.monotonic()
        await asyncio.to_thread(target.rabbit.start_node, index)
        seconds = time.monotonic() - started
        return Outcome(
            f"node {index} down {down:.0f} s; rejoined {seconds:.1f} s after its start", seconds
        )

    return act


def broker_cut() -> Action:
    async def act(target: Target, _http: httpx.AsyncClient) -> Outcome:
        await target.rabbit.cut_connections()
        return Outcome("every client connection to the broker reset")

    return act


def outage(dependency: str, seconds: float) -> Action:
    async def act(target: Target, _http: httpx.AsyncClient) -> Outcome:
        proxy = target.proxies[dependency]
        await proxy.down()
        await asyncio.sleep(seconds)
        await proxy.up()
        return Outcome(f"unreachable for {seconds:.0f} s")

    return act


# --- the providers ---------------------------------------------------------------------


def sandbox_faults(sandbox: str, on: dict[str, object], window: float = 0.0) -> Action:
    """Set `on` in a sandbox's faults; with a `window`, reset those fields after it."""

    async def act(target: Target, http: httpx.AsyncClient) -> Outcome:
        url = f"{target.url(sandbox)}/sandbox/faults"
        (await http.post(url, json=on)).raise_for_status()
        text = ", ".join(f"{name}={value}" for name, value in on.items())
        if window:
            await asyncio.sleep(window)
            off = {name: type(value)() for name, value in on.items()}
            (await http.post(url, json=off)).raise_for_status()
            text += f" for {window:.0f} s"
        return Outcome(text)

    return act


# --- the schedule ----------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A kind of fault: what it needs exclusively (two faults on one resource must not
    overlap: an outage ending would end the other) and how to draw one."""

    resource: str
    make: Callable[[random.Random, Sequence[str]], tuple[str, Action, float]]
    # The earliest moment, as a fraction of the load (a payout needs refunds claimed
    # and approved first, which takes a good part of the load to happen).
    earliest: float = 0.05


def _kill(rng: random.Random, services: Sequence[str]) -> tuple[str, Action, float]:
    service, draw = rng.choice(services), rng.randrange(2)
    return f"SIGKILL {service} (instance draw {draw})", kill(service, draw), 0.0


def _kill_two(rng: random.Random, services: Sequence[str]) -> tuple[str, Action, float]:
    first, second = rng.sample(list(services), 2)
    return f"SIGKILL {first} and {second} at once", kill_two(first, second, rng.randrange(2)), 0.0


def _startup(rng: random.Random, services: Sequence[str]) -> tuple[str, Action, float]:
    service, delay = rng.choice(services), round(rng.uniform(0.05, 1.5), 2)
    action = kill_during_startup(service, rng.randrange(2), delay)
    return f"SIGKILL {service} during start-up ({delay:.2f} s in)", action, 0.0


def _fixed(
    name: str, action: Action, lasts: float = 0.0, resource: str = "", earliest: float = 0.05
) -> Kind:
    return Kind(resource, lambda _rng, _services: (name, action, lasts), earliest)


def _lasting(
    resource: str, name: str, action: Callable[[float], Action], low: float, high: float
) -> Kind:
    def make(rng: random.Random, _services: Sequence[str]) -> tuple[str, Action, float]:
        seconds = round(rng.uniform(low, high))
        return f"{name} {seconds} s", action(seconds), float(seconds)

    return Kind(resource, make)


def _burst(status: str, field: str) -> Kind:
    def make(rng: random.Random, _services: Sequence[str]) -> tuple[str, Action, float]:
        calls = rng.randint(20, 60)
        return (
            f"Kinguin {status} burst ({calls} calls)",
            sandbox_faults("kinguin-sandbox", {field: calls}),
            0.0,
        )

    return Kind("", make)


def _node(rng: random.Random, _services: Sequence[str]) -> tuple[str, Action, float]:
    draw, down = rng.randrange(3), float(rng.randint(5, 20))
    return (
        f"RabbitMQ node {draw} SIGKILL, restarted {down:.0f} s later",
        rabbit_node(draw, down),
        down + 30,
    )


REORDER: dict[str, object] = {"duplicate_callbacks": 1, "reorder_callbacks": True}


def _kill_all(_rng: random.Random, services: Sequence[str]) -> tuple[str, Action, float]:
    return "SIGKILL all five services at once", kill_all(services), 0.0


def _callbacks(sandbox: str) -> Callable[[float], Action]:
    return lambda seconds: sandbox_faults(sandbox, REORDER, seconds)


KINDS: dict[str, Kind] = {
    "kill": Kind("", _kill),
    "kill-two": Kind("", _kill_two),
    "kill-all": Kind("", _kill_all),
    "kill-startup": Kind("", _startup),
    "kill-ipn-transaction": _fixed(
        "SIGKILL payments inside an IPN transaction", kill_ipn_processor()
    ),
    "kill-gateway-purchase": _fixed(
        "SIGKILL kinguin-gateway mid-purchase", kill_gateway_mid_purchase()
    ),
    "kill-payments-payout": _fixed(
        "SIGKILL payments mid-payout", kill_payments_mid_payout(), earliest=0.4
    ),
    "kill-delivery-envelope": _fixed(
        "SIGKILL delivery before SMTP DATA", kill_delivery_in_smtp(SMTP_ENVELOPE, "before DATA")
    ),
    "kill-delivery-data": _fixed(
        "SIGKILL delivery during SMTP DATA", kill_delivery_in_smtp(SMTP_END_OF_DATA, "during DATA")
    ),
    # On the server's resource: while it crashes or recovers there is no backend to end.
    "pg-terminate": _fixed(
        "pg_terminate_backend of every service connection",
        postgres_backends("terminate"),
        1.0,
        "postgres",
    ),
    "pg-cancel": _fixed(
        "pg_cancel_backend of every running query", postgres_backends("cancel"), 1.0, "postgres"
    ),
    "pg-crash": _fixed("PostgreSQL crash and restart", postgres_crash(), 10.0, "postgres"),
    "pg-crash-recovery": _fixed(
        "PostgreSQL crash during recovery", postgres_crash_during_recovery(), 15.0, "postgres"
    ),
    "broker-cut": _fixed("broker connections cut", broker_cut()),
    "rabbit-node": Kind("rabbit", _node),
    "s3-outage": _lasting("s3", "S3 unreachable", lambda s: outage("s3", s), 10, 30),
    "smtp-outage": _lasting("smtp", "SMTP unreachable", lambda s: outage("smtp", s), 10, 30),
    "kinguin-429": _burst("429", "rate_limit_next"),
    "kinguin-503": _burst("503", "fail_next"),
    "kinguin-webhooks": _lasting(
        "kinguin-callbacks",
        "Kinguin webhooks duplicated and reordered",
        _callbacks("kinguin-sandbox"),
        30,
        90,
    ),
    "nowpayments-ipns": _lasting(
        "nowpayments-callbacks",
        "NOWPayments IPNs duplicated and reordered",
        _callbacks("nowpayments-sandbox"),
        30,
        90,
    ),
}

EXTRA_KILLS_PER_MINUTE = 4.0  # random SIGKILLs beyond one fault of each kind


def schedule(seed: int, load_seconds: float, services: Sequence[str] = SERVICES) -> list[Fault]:
    """Every kind of fault once, plus about `EXTRA_KILLS_PER_MINUTE` SIGKILLs of random
    instances a minute, at random moments between 5 % and 85 % of the load (after it,
    the drain shows whether everything recovered); outages and windows end by 95 % of
    it. Faults of one resource never overlap; all others may. Deterministic for `seed`."""
    rng = random.Random(seed)
    kinds = [*KINDS, *["kill"] * round(load_seconds / 60 * EXTRA_KILLS_PER_MINUTE)]
    busy: dict[str, list[tuple[float, float]]] = {}
    faults = []
    for kind in kinds:
        name, action, lasts = KINDS[kind].make(rng, services)
        at = _free_moment(
            rng,
            load_seconds,
            busy.setdefault(KINDS[kind].resource, []),
            lasts,
            KINDS[kind].earliest,
        )
        faults.append(Fault(round(at, 1), kind, name, action, lasts))
    return sorted(faults, key=lambda fault: (fault.at, fault.kind))


def _free_moment(
    rng: random.Random,
    load_seconds: float,
    busy: list[tuple[float, float]],
    lasts: float,
    earliest: float = 0.05,
) -> float:
    """A random moment in the load, not before `earliest` of it, when the resource is not
    `busy` (then marked busy for `lasts` seconds and a margin), early enough for the fault
    to end with the load where the load is long enough; a resource of "" is never busy."""
    low = earliest * load_seconds
    high = max(low, min(0.85 * load_seconds, 0.95 * load_seconds - lasts))
    at = rng.uniform(low, high)
    for _ in range(100):
        if not any(start - lasts - 5 < at < end + 5 for start, end in busy):
            break
        at = rng.uniform(low, high)
    if lasts:
        busy.append((at, at + lasts))
    return at


def overlapping(faults: Sequence[Fault], ends: dict[str, float] | None = None) -> int:
    """How many faults begin while an earlier one lasts (by its planned `lasts`, or the
    `ends` measured for its name)."""
    count = 0
    for index, fault in enumerate(faults):
        if any(
            earlier.at <= fault.at < earlier.at + (ends or {}).get(earlier.name, earlier.lasts)
            for earlier in faults[:index]
        ):
            count += 1
    return count


async def inject(target: Target, faults: list[Fault], started: float, log: list[Happened]) -> None:
    """Each fault at its time, concurrently, so that they overlap; what happened goes
    to `log` (in the order they began). A fault that fails is logged as failed and the
    others go on: the checks judge the run, not the injector."""
    async with httpx.AsyncClient(timeout=30) as http:
        happened = await asyncio.gather(*(_at(target, http, f, started) for f in faults))
    log.extend(sorted(happened, key=lambda h: h.at))


async def _at(target: Target, http: httpx.AsyncClient, fault: Fault, started: float) -> Happened:
    await asyncio.sleep(max(0.0, started + fault.at - time.monotonic()))
    at = time.monotonic() - started
    print(f"\n  [{at:5.0f} s] {fault.name}", flush=True)
    try:
        outcome = await fault.action(target, http)
    except Exception as error:  # reported in the faults table, and the run goes on
        outcome = Outcome(f"FAILED to inject: {type(error).__name__}: {error}")
    return Happened(at, fault.name, outcome.text, fault.kind, outcome.recovery)
