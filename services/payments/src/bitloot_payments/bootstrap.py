"""Wires the payments service together from its settings; nothing is built at import."""

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
from faststream.rabbit import RabbitBroker
from starlette.applications import Starlette

from bitloot_contracts.topics import PAYMENTS
from bitloot_payments.adapters.ipn_log import store_received
from bitloot_payments.adapters.nowpayments import NowPaymentsClient, RetryPolicy
from bitloot_payments.adapters.orm import metadata
from bitloot_payments.adapters.payouts import NowPaymentsPayouts
from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.domain.email_address import EmailRule
from bitloot_payments.entrypoints import claim, internal, public
from bitloot_payments.entrypoints.bus import subscribe
from bitloot_payments.entrypoints.claim_pages import ClaimPages
from bitloot_payments.entrypoints.edge import REFUSALS, ClaimDesk, Edge
from bitloot_payments.entrypoints.openapi import describe
from bitloot_payments.entrypoints.order_page import OrderPages
from bitloot_payments.entrypoints.public import PAYOUT_IPN_PATH
from bitloot_payments.handlers import queries
from bitloot_payments.handlers import refund_claims as claims
from bitloot_payments.handlers.catalog import SaveProduct
from bitloot_payments.handlers.checkout_limits import NETWORK_FACTOR, CheckoutGate, CheckoutLimits
from bitloot_payments.handlers.edge_load import EdgeLoad
from bitloot_payments.handlers.payouts import PayoutRunner
from bitloot_payments.handlers.place_order import OrderPlacement, ReturnUrls
from bitloot_payments.handlers.process_ipns import IpnProcessor
from bitloot_payments.handlers.receive_ipn import IpnReceiver
from bitloot_payments.handlers.receive_payout_ipn import PayoutIpnReceiver
from bitloot_payments.handlers.reconcile import Reconciler
from bitloot_payments.handlers.refund_decisions import DecideRefund
from bitloot_payments.handlers.resolve_flags import DecideFlag, ReplayIpn
from bitloot_payments.handlers.retention import ipn_log_sweep
from bitloot_payments.handlers.stats import ReadStats
from bitloot_payments.metrics import PaymentsMetrics
from bitloot_payments.migrations import VERSIONS
from bitloot_payments.settings import ORDER_PAGE, Settings
from bitloot_runtime.app import create_app, edge_tokens
from bitloot_runtime.logging import register_secret
from bitloot_runtime.outbound import MeteredTransport
from bitloot_runtime.rate_limits import Limit
from bitloot_runtime.retention import sweeper
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_runtime.signatures import secrets_in_rotation
from bitloot_runtime.tokens import OrderTokenSigner, OrderTokenVerifier, load_private_key

IPN_PATH = "/payments/ipn"
# IPNs in flight at which the IPN processor gives way to the edge (`EdgeLoad`): a steady
# 200 a second keeps one or two in flight (each waits milliseconds for its commit); a
# burst beyond what the CPU answers at once keeps many more.
EDGE_BUSY_AT = 8

logger = logging.getLogger(__name__)


def _secrets(settings: Settings) -> tuple[str, ...]:
    """The IPN secrets in rotation, each registered for redaction along with the others."""
    previous = settings.nowpayments_ipn_secret_previous
    secrets = secrets_in_rotation(
        settings.nowpayments_ipn_secret.get_secret_value(),
        previous.get_secret_value() if previous else None,
    )
    password, two_fa = settings.nowpayments_password, settings.nowpayments_2fa_secret
    for value in (
        *secrets,
        settings.nowpayments_api_key.get_secret_value(),
        settings.order_token_private_key.get_secret_value(),
        *((password.get_secret_value(),) if password else ()),
        *((two_fa.get_secret_value(),) if two_fa else ()),
    ):
        register_secret(value)
    return secrets


def _closing(client: httpx.AsyncClient) -> Callable[[], Awaitable[None]]:
    """A background loop that only holds `client` open until the runtime stops: closing
    it there covers both the server's lifespan and tests that start the runtime directly."""

    async def hold_open() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await client.aclose()

    return hold_open


def _nowpayments(
    settings: Settings, runtime: ServiceRuntime, transport: httpx.AsyncBaseTransport | None
) -> tuple[NowPaymentsClient, NowPaymentsPayouts]:
    timeout = httpx.Timeout(settings.nowpayments_timeout, connect=3.0)
    metered = MeteredTransport("nowpayments", runtime.metrics.outbound, transport)
    http = httpx.AsyncClient(transport=metered, timeout=timeout)
    runtime.add_background("nowpayments-client", _closing(http))
    retry = RetryPolicy(attempts=settings.nowpayments_attempts)
    client = NowPaymentsClient(
        settings.nowpayments_api_url,
        settings.nowpayments_api_key.get_secret_value(),
        http,
        timeout=timeout,
        retry=retry,
        credentials=settings.nowpayments_credentials(),
    )
    two_fa = settings.nowpayments_2fa_secret
    payouts = NowPaymentsPayouts(
        client,
        two_fa_secret=two_fa.get_secret_value() if two_fa else None,
        timeout=timeout,
        retry=retry,
    )
    return client, payouts


def _payout_runner(
    settings: Settings, runtime: ServiceRuntime, payouts: NowPaymentsPayouts
) -> PayoutRunner:
    """The runner paying approved refunds out; started only when the account's
    credentials (which creating a payout needs) are configured, so that without them an
    approved refund waits rather than fails."""
    runner = PayoutRunner(
        runtime.units_of_work(PaymentsUnitOfWork),
        payouts,
        ipn_callback_url=settings.payout_ipn_url or settings.public_url + PAYOUT_IPN_PATH,
        poll_after=timedelta(seconds=settings.payout_poll_after_seconds),
        lookup_after=timedelta(seconds=settings.payout_lookup_after_seconds),
        poll_interval=settings.payout_poll_interval,
    )
    if settings.nowpayments_credentials() is None:
        logger.warning(
            "refund payouts are off: PAYMENTS_NOWPAYMENTS_EMAIL and _PASSWORD are not set"
        )
    else:
        runtime.add_worker(runner.worker)
    return runner


def _placement(
    settings: Settings,
    runtime: ServiceRuntime,
    nowpayments: NowPaymentsClient,
    metrics: PaymentsMetrics,
) -> tuple[OrderPlacement, OrderTokenVerifier]:
    private_key = load_private_key(settings.order_token_private_key.get_secret_value())
    key_id = settings.order_token_key_id
    signer = OrderTokenSigner(key_id, private_key, timedelta(hours=settings.order_token_ttl_hours))
    placement = OrderPlacement(
        runtime.units_of_work(PaymentsUnitOfWork),
        nowpayments,
        signer,
        settings.public_url + IPN_PATH,
        ReturnUrls(settings.success_url_template(), settings.cancel_url),
        reconcile_in=settings.reconcile_policy().after,
        metrics=metrics,
    )
    return placement, OrderTokenVerifier({key_id: private_key.public_key()})


def _claim_desk(settings: Settings, runtime: ServiceRuntime) -> ClaimDesk:
    hour = timedelta(hours=1)
    attempts, links = settings.claim_attempts_per_hour, settings.claim_links_per_hour
    limits = claims.ClaimLimits(
        claims_per_ip=Limit("refund_claim_ip", attempts, hour),
        claims_per_refund=Limit("refund_claim_refund", attempts, hour),
        links_per_ip=Limit("claim_link_ip", links * 10, hour),
        links_per_refund=Limit("claim_link_refund", links, hour),
    )
    parts = (runtime.units_of_work(PaymentsUnitOfWork), settings.claim_verifier(), limits)
    return ClaimDesk(
        claims.ShowClaim(*parts),
        claims.ClaimRefund(*parts),
        claims.RequestClaimLink(*parts),
        ClaimPages(settings.support_email),
    )


def _checkout_gate(settings: Settings, runtime: ServiceRuntime) -> CheckoutGate:
    client_window = timedelta(seconds=settings.checkout_client_window_seconds)
    shop_window = timedelta(seconds=settings.checkout_global_window_seconds)
    limits = CheckoutLimits(
        per_client=Limit("checkout_client", settings.checkout_client_limit, client_window),
        per_network=Limit(
            "checkout_network", settings.checkout_client_limit * NETWORK_FACTOR, client_window
        ),
        shop_wide=Limit("checkout_global", settings.checkout_global_limit, shop_window),
    )
    gate = CheckoutGate(runtime.units_of_work(PaymentsUnitOfWork), limits)
    runtime.add_worker(gate.sweeper())
    return gate


def build(
    settings: Settings | None = None,
    *,
    in_memory_broker: RabbitBroker | None = None,
    nowpayments_transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[ServiceRuntime, Starlette]:
    """The service's runtime and its HTTP app, from `settings` or the environment; on
    `in_memory_broker` when given (the one-process demo); NOWPayments reached through
    `nowpayments_transport` when given (an in-process sandbox), the network otherwise."""
    settings = settings or load_settings(Settings)
    secrets = _secrets(settings)
    runtime = ServiceRuntime(
        service=PAYMENTS,
        settings=settings,
        metadata=metadata,
        version_locations=[VERSIONS],
        in_memory_broker=in_memory_broker,
        unit_of_work_class=PaymentsUnitOfWork,
    )
    units_of_work = runtime.units_of_work(PaymentsUnitOfWork)
    subscribe(runtime)
    metrics = PaymentsMetrics(runtime.metrics.source)
    metrics.watch(runtime)
    nowpayments, payouts = _nowpayments(settings, runtime, nowpayments_transport)
    runner = _payout_runner(settings, runtime, payouts)
    placement, verifier = _placement(settings, runtime, nowpayments, metrics)
    load = EdgeLoad(busy_at=EDGE_BUSY_AT)
    processor = IpnProcessor(
        units_of_work,
        load,
        settings.ipn_poll_interval,
        retry=settings.ipn_retry(),
        metrics=metrics,
        tolerance_percent=settings.underpayment_tolerance_percent,
    )
    runtime.add_worker(processor.worker)
    reconciler = Reconciler(
        units_of_work,
        nowpayments,
        settings.reconcile_policy(),
        processor.wake,
        metrics,
        settings.reconcile_interval,
    )
    runtime.add_worker(reconciler.worker)
    sweep = ipn_log_sweep(settings, runtime.unit_of_work)
    runtime.add_worker(sweeper(sweep.sweep, settings.retention_sweep_seconds))
    edge = Edge(
        placement=placement,
        gate=_checkout_gate(settings, runtime),
        emails=EmailRule(
            allow_test_domains=settings.checkout_email_test_domains,
            smtputf8=settings.checkout_email_smtputf8,
        ),
        receiver=IpnReceiver(
            functools.partial(store_received, runtime.engine),
            secrets,
            processor.wake,
            load,
            metrics,
        ),
        payout_receiver=PayoutIpnReceiver(units_of_work, secrets, runner.worker.wake),
        units_of_work=units_of_work,
        read_order=queries.ReadOrder(units_of_work),
        list_orders=queries.ListOrders(units_of_work, settings.stuck_after),
        read_payment=queries.ReadPayment(units_of_work),
        read_flag=queries.ReadFlag(units_of_work),
        read_timeline=queries.ReadTimeline(units_of_work),
        save_product=SaveProduct(units_of_work),
        verifier=verifier,
        pages=OrderPages(settings.live_status_url, settings.live_status_origin()),
        order_url=settings.public_url + ORDER_PAGE,
        decide_flag=DecideFlag(units_of_work),
        replay_ipn=ReplayIpn(units_of_work, processor.wake),
        decide_refund=DecideRefund(units_of_work, runner.worker.wake),
        read_stats=ReadStats(units_of_work),
        claims=_claim_desk(settings, runtime),
    )
    app = create_app(
        runtime,
        [*public.ROUTES, *claim.ROUTES, *internal.ROUTES],
        internal_tokens=edge_tokens(settings),
        refusals=REFUSALS,
        dependencies=edge,
        openapi=describe,
    )
    return runtime, app
