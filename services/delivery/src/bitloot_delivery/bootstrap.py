"""Wires the delivery service together from its settings; nothing is built at import.

The S3 client is opened at start-up by the "object-store" background loop (creating the
bucket if configured) and closed when the runtime stops; the "mailer" loop LISTENs for
queued emails and closes the SMTP connections its mailer keeps between messages when it
stops; the "retention" loop deletes keys past their retention period. Every secret is
registered for redaction before anything can log it.
"""

from datetime import timedelta

from faststream.rabbit import RabbitBroker
from starlette.applications import Starlette

from bitloot_contracts.topics import DELIVERY
from bitloot_delivery.adapters.mailer import SmtpMailer
from bitloot_delivery.adapters.object_store import S3ObjectStore, object_store
from bitloot_delivery.adapters.orm import metadata
from bitloot_delivery.adapters.unit_of_work import DeliveryUnitOfWork
from bitloot_delivery.domain.links import ClaimLinks, RevealLinks
from bitloot_delivery.domain.rate_limits import Limit
from bitloot_delivery.domain.retention import RetentionPolicy
from bitloot_delivery.entrypoints import internal, pages, public, refunds
from bitloot_delivery.entrypoints.bus import subscribe
from bitloot_delivery.entrypoints.edge import REFUSALS, Edge
from bitloot_delivery.handlers.links import (
    EmailFreshLink,
    FreshLinkLimits,
    IssueLink,
    ResendLink,
)
from bitloot_delivery.handlers.object_url import PresignObject
from bitloot_delivery.handlers.resend_notice import ResendNotice
from bitloot_delivery.handlers.retention import RetentionSweep
from bitloot_delivery.handlers.reveal import RevealKeys
from bitloot_delivery.handlers.revoke import RevokeKeys
from bitloot_delivery.handlers.send_email import EmailSender
from bitloot_delivery.handlers.store_keys import StoreKeys
from bitloot_delivery.metrics import DeliveryMetrics
from bitloot_delivery.migrations import VERSIONS
from bitloot_delivery.settings import Settings
from bitloot_runtime.app import create_app, edge_tokens
from bitloot_runtime.db import asyncpg_dsn
from bitloot_runtime.logging import register_secret
from bitloot_runtime.openapi import ORDER_TOKEN_SCHEME, describe
from bitloot_runtime.retention import sweeper
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_runtime.tokens import OrderTokenVerifier, parse_public_keys


def build(
    settings: Settings | None = None, *, in_memory_broker: RabbitBroker | None = None
) -> tuple[ServiceRuntime, Starlette]:
    """The service's runtime and its HTTP app, from `settings` or the environment; on
    `in_memory_broker` when given (the one-process demo)."""
    settings = settings or load_settings(Settings)
    register_secrets(settings)
    runtime = ServiceRuntime(
        service=DELIVERY,
        settings=settings,
        metadata=metadata,
        version_locations=[VERSIONS],
        in_memory_broker=in_memory_broker,
        unit_of_work_class=DeliveryUnitOfWork,
    )
    metrics = DeliveryMetrics(runtime.metrics.source)
    metrics.watch(runtime)
    store = object_store(settings)
    keks = settings.key_encryption_keys()
    links = reveal_links(settings)
    subscribe(runtime, StoreKeys(store=store, private_keys=settings.private_keys(), keks=keks))
    runtime.add_background("object-store", store.hold_open)
    sender = email_sender(settings, runtime, links, metrics)
    dsn = asyncpg_dsn(settings.database_url)
    runtime.add_worker(sender.worker(dsn, settings.email_poll_seconds))
    sweep = retention_sweep(settings, runtime, store)
    runtime.add_worker(sweeper(sweep.sweep, settings.retention_sweep_seconds))
    uow = runtime.units_of_work(DeliveryUnitOfWork)
    edge = Edge(
        engine=runtime.engine,
        reveal=RevealKeys(unit_of_work=uow, store=store, links=links, keks=keks),
        email_fresh_link=EmailFreshLink(unit_of_work=uow, links=links, limits=limits(settings)),
        issue=IssueLink(unit_of_work=uow, links=links, public_url=settings.public_url),
        resend_link=ResendLink(unit_of_work=uow),
        presign=PresignObject(unit_of_work=uow, store=store),
        revoke=RevokeKeys(unit_of_work=uow),
        resend_notice=ResendNotice(unit_of_work=uow),
        verifier=order_token_verifier(settings),
        support_email=settings.support_email,
        metrics=metrics,
    )
    return runtime, create_app(
        runtime,
        [*pages.ROUTES, *public.ROUTES, *internal.ROUTES, *refunds.ROUTES],
        internal_tokens=edge_tokens(settings),
        refusals=REFUSALS,
        dependencies=edge,
        openapi=lambda routes: describe(
            "BitLoot delivery API",
            pages.DESCRIBED,
            routes=routes,
            security_schemes={"orderToken": ORDER_TOKEN_SCHEME},
        ),
    )


def reveal_links(settings: Settings) -> RevealLinks:
    ttl = timedelta(minutes=settings.link_ttl_minutes)
    return RevealLinks(settings.link_secret.get_secret_value(), ttl)


def limits(settings: Settings) -> FreshLinkLimits:
    hour = timedelta(hours=1)
    return FreshLinkLimits(
        per_ip=Limit("fresh_link_ip", settings.fresh_links_per_ip_per_hour, hour),
        per_order=Limit("fresh_link_order", settings.fresh_links_per_order_per_hour, hour),
    )


def order_token_verifier(settings: Settings) -> OrderTokenVerifier | None:
    if settings.order_token_public_keys is None:
        return None
    return OrderTokenVerifier(parse_public_keys(settings.order_token_public_keys))


def retention_sweep(
    settings: Settings, runtime: ServiceRuntime, store: S3ObjectStore
) -> RetentionSweep:
    policy = RetentionPolicy(timedelta(days=settings.retention_days))
    uow = runtime.units_of_work(DeliveryUnitOfWork)
    return RetentionSweep(unit_of_work=uow, store=store, policy=policy)


def register_secrets(settings: Settings) -> None:
    """Redact every configured secret (and each key within a list of keys) from logs."""
    secrets = [
        settings.s3_secret_access_key,
        settings.link_secret,
        settings.smtp_password,
        settings.claim_token_private_key,
    ]
    for listed in (settings.hpke_private_keys, settings.keks):
        value = listed.get_secret_value()
        register_secret(value)
        for item in value.split(","):
            register_secret(item.strip().partition(":")[2])
    for secret in secrets:
        if secret is not None:
            register_secret(secret.get_secret_value())


def email_sender(
    settings: Settings,
    runtime: ServiceRuntime,
    links: RevealLinks,
    metrics: DeliveryMetrics | None = None,
) -> EmailSender:
    password = settings.smtp_password
    mailer = SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password.get_secret_value() if password is not None else None,
        starttls=settings.smtp_starttls,
    )
    return EmailSender(
        unit_of_work=runtime.units_of_work(DeliveryUnitOfWork),
        mailer=mailer,
        links=links,
        claim_links=ClaimLinks(settings.claim_tokens(), settings.refund_claim_url),
        public_url=settings.public_url,
        mail_from=settings.mail_from,
        support_email=settings.support_email,
        lease=timedelta(seconds=settings.email_lease_seconds),
        concurrency=settings.email_concurrency,
        metrics=metrics,
    )
