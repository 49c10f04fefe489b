"""What goes wrong during the run, and when (seconds after the load starts).

Each service is killed with SIGKILL and restarted (payments once more while NOWPayments
holds the answer to a refund payout it has made); the broker and the database server
crash and restart; S3 and SMTP are unreachable for 30 s each; Kinguin answers bursts of
429 and 503, and sends every webhook twice and newest first for the whole run. The
faults come one at a time, so that the table can say how long each took to recover.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from bitloot_launch.wiring import SERVICES
from chaos.stack import ChaosStack

Action = Callable[[ChaosStack, httpx.AsyncClient], Awaitable[str]]


@dataclass(frozen=True)
class Fault:
    at: float
    name: str
    action: Action


@dataclass(frozen=True)
class Happened:
    at: float
    name: str
    outcome: str


def kill_and_restart(service: str) -> Action:
    async def act(stack: ChaosStack, http: httpx.AsyncClient) -> str:
        await stack.kill(service)
        seconds = await stack.start(service, http)
        return f"ready again {seconds:.1f} s after SIGKILL"

    return act


def kill_gateway_mid_purchase(hold: float = 3.0) -> Action:
    """SIGKILL the gateway while Kinguin has taken its purchases but not yet answered
    them (the sandbox holds each ``POST /v2/order`` answer `hold` seconds): the restarted
    gateway must find each of those orders by ``orderExternalId``, never buy again."""

    async def act(stack: ChaosStack, http: httpx.AsyncClient) -> str:
        sandbox = stack.url("kinguin-sandbox")
        before = len((await http.get(f"{sandbox}/sandbox/calls")).json())
        await http.post(f"{sandbox}/sandbox/faults", json={"hold_order_answer_seconds": int(hold)})
        await asyncio.sleep(hold * 2 / 3)
        calls: list[str] = (await http.get(f"{sandbox}/sandbox/calls")).json()
        held = calls[before:].count("POST /v2/order")
        await stack.kill("kinguin-gateway")
        await http.post(f"{sandbox}/sandbox/faults", json={"hold_order_answer_seconds": 0})
        seconds = await stack.start("kinguin-gateway", http)
        return f"{held} purchases unanswered at the kill; ready again {seconds:.1f} s after"

    return act


async def payouts_made(http: httpx.AsyncClient, sandbox: str) -> list[str]:
    """The `unique_external_id` of every payout the NOWPayments sandbox made, in order."""
    batches = (await http.get(f"{sandbox}/sandbox/payouts")).json()
    return [str(w["unique_external_id"]) for batch in batches for w in batch["withdrawals"]]


def kill_payments_mid_payout(hold: float = 30.0, wait: float = 15.0) -> Action:
    """SIGKILL payments after NOWPayments has made a refund payout but before payments
    heard so (the sandbox holds the next ``POST /v1/payout`` answer `hold` seconds): the
    restarted payout runner must find that payout by its ``unique_external_id`` and never
    pay again (the refund check counts the sandbox's payouts). Waits up to `wait` seconds
    for a refund to be approved and paid; none then, nothing is killed."""

    async def act(stack: ChaosStack, http: httpx.AsyncClient) -> str:
        sandbox = stack.url("nowpayments-sandbox")
        before = len(await payouts_made(http, sandbox))
        held = {"hold_payouts": 1, "hold_ms": int(hold * 1000)}
        (await http.post(f"{sandbox}/sandbox/faults", json=held)).raise_for_status()
        deadline, made = time.monotonic() + wait, list[str]()
        while True:
            made = (await payouts_made(http, sandbox))[before:]
            if made or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        if made:
            await stack.kill("payments")
        released = {"hold_payouts": 0, "hold_ms": 0}
        (await http.post(f"{sandbox}/sandbox/faults", json=released)).raise_for_status()
        if not made:
            return f"no refund paid out within {wait:.0f} s; nothing killed"
        seconds = await stack.start("payments", http)
        return f"payout {made[0]} made, answer held at the kill; ready again {seconds:.1f} s after"

    return act


def crash_server(which: str) -> Action:
    async def act(stack: ChaosStack, _http: httpx.AsyncClient) -> str:
        started = time.monotonic()
        server = stack.rabbit if which == "rabbitmq" else stack.postgres
        await asyncio.to_thread(server.crash_restart)
        return f"accepting connections again after {time.monotonic() - started:.1f} s"

    return act


def cut(dependency: str, seconds: float) -> Action:
    async def act(stack: ChaosStack, _http: httpx.AsyncClient) -> str:
        proxy = stack.proxies[dependency]
        await proxy.down()
        await asyncio.sleep(seconds)
        await proxy.up()
        return f"unreachable for {seconds:.0f} s"

    return act


def kinguin(faults: dict[str, object]) -> Action:
    async def act(stack: ChaosStack, http: httpx.AsyncClient) -> str:
        answer = await http.post(f"{stack.url('kinguin-sandbox')}/sandbox/faults", json=faults)
        answer.raise_for_status()
        return ", ".join(f"{name}={value}" for name, value in faults.items())

    return act


def schedule(load_seconds: float, outage: float = 30.0) -> list[Fault]:
    """The faults spread over the load: the kills and Kinguin bursts in its first half,
    the server crashes and outages in its second."""
    step = load_seconds / 16
    faults = [
        Fault(0, "Kinguin webhooks duplicated and reordered", kinguin(
            {"duplicate_callbacks": 1, "reorder_callbacks": True})),
        Fault(step * 1.5, "Kinguin 429 burst", kinguin({"rate_limit_next": 40})),
        Fault(step * 4.5, "Kinguin 503 burst", kinguin({"fail_next": 40})),
    ]  # fmt: skip
    faults += [
        Fault(step * (1 + index), f"SIGKILL {service}", kill_and_restart(service))
        for index, service in enumerate(SERVICES)
        if service != "kinguin-gateway"
    ]
    faults.append(
        Fault(step * 2, "SIGKILL kinguin-gateway mid-purchase", kill_gateway_mid_purchase())
    )
    faults.append(Fault(step * 5.6, "SIGKILL payments mid-payout", kill_payments_mid_payout()))
    faults += [
        Fault(step * 7, "RabbitMQ crash and restart", crash_server("rabbitmq")),
        Fault(step * 9, "PostgreSQL crash and restart", crash_server("postgres")),
        Fault(step * 10, f"S3 unreachable {outage:.0f} s", cut("s3", outage)),
        Fault(step * 10 + outage + 5, f"SMTP unreachable {outage:.0f} s", cut("smtp", outage)),
    ]
    return sorted(faults, key=lambda fault: fault.at)


async def inject(
    stack: ChaosStack, faults: list[Fault], started: float, log: list[Happened]
) -> None:
    """Each fault at its time, one after the other; what happened goes to `log`."""
    async with httpx.AsyncClient(timeout=30) as http:
        for fault in faults:
            await asyncio.sleep(max(0.0, started + fault.at - time.monotonic()))
            at = time.monotonic() - started
            print(f"\n  [{at:5.0f} s] {fault.name}", flush=True)
            outcome = await fault.action(stack, http)
            log.append(Happened(at, fault.name, outcome))
