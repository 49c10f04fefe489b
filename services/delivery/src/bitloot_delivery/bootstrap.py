"""Wires the delivery service together from its settings; nothing is built at import.

The S3 client is opened at start-up by the "object-store" background loop (creating the
bucket if configured) and closed when the runtime stops; SMTP needs nothing open between
messages. Every secret is registered for redaction before anything can log it.
"""

from datetime import timedelta

import aioboto3
from faststream.rabbit import RabbitBroker
from starlette.applications import Starlette

from bitloot_contracts.topics import DELIVERY
from bitloot_delivery.adapters.mailer import SmtpMailer
from bitloot_delivery.adapters.object_store import S3ObjectStore
from bitloot_delivery.adapters.orm import metadata
from bitloot_delivery.domain.links import RevealLinks
from bitloot_delivery.entrypoints.bus import subscribe
from bitloot_delivery.entrypoints.internal import internal_routes
from bitloot_delivery.entrypoints.pages import page_routes
from bitloot_delivery.handlers.reveal import RevealKeys
from bitloot_delivery.handlers.send_email import EmailSender
from bitloot_delivery.handlers.store_keys import StoreKeys
from bitloot_delivery.migrations import VERSIONS
from bitloot_delivery.settings import Settings
from bitloot_runtime.app import create_app, edge_tokens
from bitloot_runtime.logging import register_secret
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings


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
    )
    store = object_store(settings)
    keks = settings.key_encryption_keys()
    links = RevealLinks(
        settings.link_secret.get_secret_value(), timedelta(minutes=settings.link_ttl_minutes)
    )
    subscribe(runtime, StoreKeys(store=store, private_keys=settings.private_keys(), keks=keks))
    runtime.add_background("object-store", store.hold_open)
    runtime.add_background("mailer", email_sender(settings, runtime, links).run)
    reveal = RevealKeys(unit_of_work=runtime.unit_of_work, store=store, links=links, keks=keks)
    routes = [*page_routes(reveal), *internal_routes(runtime.engine)]
    return runtime, create_app(runtime, routes, internal_tokens=edge_tokens(settings))


def register_secrets(settings: Settings) -> None:
    """Redact every configured secret (and each key within a list of keys) from logs."""
    secrets = [settings.s3_secret_access_key, settings.link_secret, settings.smtp_password]
    for listed in (settings.hpke_private_keys, settings.keks):
        value = listed.get_secret_value()
        register_secret(value)
        for item in value.split(","):
            register_secret(item.strip().partition(":")[2])
    for secret in secrets:
        if secret is not None:
            register_secret(secret.get_secret_value())


def object_store(settings: Settings) -> S3ObjectStore:
    session = aioboto3.Session(
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key.get_secret_value(),
        region_name=settings.s3_region,
    )
    return S3ObjectStore(
        session,
        bucket=settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        create_bucket=settings.s3_create_bucket,
    )


def email_sender(settings: Settings, runtime: ServiceRuntime, links: RevealLinks) -> EmailSender:
    password = settings.smtp_password
    mailer = SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password.get_secret_value() if password is not None else None,
        starttls=settings.smtp_starttls,
    )
    return EmailSender(
        unit_of_work=runtime.unit_of_work,
        mailer=mailer,
        links=links,
        public_url=settings.public_url,
        mail_from=settings.mail_from,
    )
