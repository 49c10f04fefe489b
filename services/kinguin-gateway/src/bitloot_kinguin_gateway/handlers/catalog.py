"""Keeping what Kinguin has of the catalog's products: which to watch (payments' listings),
their stock from `product.update` webhooks, and stock, price and preorder from reading each
product periodically; payments hears of every change (`product.availability_changed`)."""

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bitloot_contracts.events import ProductAvailabilityChanged, ProductListed
from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient, KinguinProductInfo
from bitloot_kinguin_gateway.adapters.kinguin_errors import KinguinRefused
from bitloot_kinguin_gateway.domain.product import UNKNOWN, Availability, Product, supersedes
from bitloot_kinguin_gateway.domain.webhook import Notification, WebhookCall
from bitloot_kinguin_gateway.handlers.ports import GatewayWork
from bitloot_runtime.worker import Worker

logger = logging.getLogger(__name__)

PRODUCT_UPDATE = "product.update"
# KinguinRefused's code for a 404: the product does not exist (any more) at Kinguin.
NOT_FOUND = "kinguin_not_found"
# How often, between two full rounds, the sync looks for listed products never read.
UNREAD_POLL_SECONDS = 5.0


@dataclass(frozen=True)
class ProductUpdate:
    """Kinguin's `product.update` webhook, as far as we use it."""

    product_id: str
    qty: int
    updated_at: datetime


class ApplyListing:
    """Handles `catalog.product_listed`: watch the product while the catalog sells it."""

    async def __call__(self, event: ProductListed, uow: GatewayWork) -> None:
        applied = await uow.products.set_listed(
            event.kinguin_product_id, watched=event.active, listed_at=event.occurred_at
        )
        logger.info(
            "catalog listing applied" if applied else "catalog listing superseded",
            extra={"kinguin_product_id": event.kinguin_product_id, "watched": event.active},
        )


class ApplyProductUpdate:
    """Log Kinguin's `product.update` once and apply its quantity if it is news about a
    watched product."""

    async def __call__(
        self, update: ProductUpdate, raw_body: bytes, headers: Mapping[str, str], uow: GatewayWork
    ) -> None:
        # The log's first-copy index keys on order fields, empty here: a copy of a product
        # update is recognised by its updatedAt instead (not newer: stale).
        notification = Notification(PRODUCT_UPDATE, updated_at=update.updated_at)
        call = WebhookCall(notification, raw_body, headers, authenticated=True)
        row_id, _ = await uow.webhooks.record(call)
        product = await uow.products.get(update.product_id, for_update=True)
        note = _reason_to_ignore(update, product)
        extra = {"kinguin_product_id": update.product_id, "qty": update.qty, "note": note}
        if note is not None or product is None:
            logger.info("kinguin product update not applied", extra=extra)
            await uow.webhooks.settle(row_id, order_id=None, applied=False, note=note)
            return
        known = product.availability or UNKNOWN
        await _observe(uow, product, known.with_qty(update.qty), update.updated_at, synced=False)
        await uow.webhooks.settle(row_id, order_id=None, applied=True, note=None)
        logger.info("kinguin product update applied", extra=extra)


def _reason_to_ignore(update: ProductUpdate, product: Product | None) -> str | None:
    if product is None or not product.watched:
        return "unwatched_product"
    if not supersedes(update.updated_at, product.kinguin_updated_at):
        return "stale"
    return None


async def _observe(
    uow: GatewayWork, product: Product, now: Availability, at: datetime, *, synced: bool
) -> None:
    """Record what Kinguin says of `product` as of `at`; tell payments if it changed."""
    await uow.products.record(product.kinguin_product_id, now, at, synced=synced)
    if now == product.availability:
        return
    await uow.emit(
        ProductAvailabilityChanged(
            kinguin_product_id=product.kinguin_product_id,
            qty=now.qty,
            price=now.price,
            is_preorder=now.is_preorder,
            release_date=now.release_date,
            observed_at=at,
        )
    )
    logger.info(
        "kinguin availability changed",
        extra={
            "kinguin_product_id": product.kinguin_product_id,
            "qty": now.qty,
            "price": str(now.price) if now.price is not None else None,
        },
    )


class CatalogSync:
    """Reads every watched product from Kinguin (`GET /v2/products/{productId}`) every
    `interval` seconds: webhooks can be lost, and only reading gives the price."""

    def __init__(
        self,
        kinguin: KinguinClient,
        unit_of_work: Callable[[], GatewayWork],
        interval: float,
    ) -> None:
        self._kinguin = kinguin
        self._unit_of_work = unit_of_work
        self._interval = interval
        self._next_round = float("-inf")
        # A full round every `interval`, a failed one logged and the next coming anyway;
        # between rounds, products listed since and never read are read every few
        # seconds: an order for one is priced from the catalog only once it has been read.
        self.worker = Worker(
            "catalog-sync", self._pass, interval=min(interval, UNREAD_POLL_SECONDS)
        )

    async def run(self) -> None:
        """Sync, wait, repeat, until cancelled."""
        await self.worker.run()

    async def _pass(self) -> None:
        if time.monotonic() < self._next_round:
            await self.sync_unread()
            return
        try:
            await self.sync_once()
        finally:
            self._next_round = time.monotonic() + self._interval

    async def sync_once(self) -> int:
        """Read every watched product once; how many were read. A product Kinguin does not
        answer for is logged and left as it was (the next round tries again)."""
        async with self._unit_of_work() as uow:
            product_ids = await uow.products.watched()
        return await self._sync_all(product_ids)

    async def sync_unread(self) -> int:
        """Read every watched product never read yet; how many were read."""
        async with self._unit_of_work() as uow:
            product_ids = await uow.products.unread()
        return await self._sync_all(product_ids)

    async def _sync_all(self, product_ids: list[str]) -> int:
        read = 0
        for product_id in product_ids:
            try:
                await self._sync(product_id)
            except Exception as exc:
                logger.warning(
                    "kinguin product not synced",
                    extra={"kinguin_product_id": product_id, "error": repr(exc)},
                )
                continue
            read += 1
        return read

    async def _sync(self, product_id: str) -> None:
        asked_at = datetime.now(UTC)
        reading = await self._read(product_id)
        # Kinguin's own time of the state we read if it gives one, else when we asked:
        # any webhook stamped before that describes an older state.
        at = (reading.updated_at if reading else None) or asked_at
        async with self._unit_of_work() as uow:
            repository = uow.products
            product = await repository.get(product_id, for_update=True)
            if product is None or not product.watched:
                return
            if product.kinguin_updated_at is not None and at < product.kinguin_updated_at:
                # A webhook newer than what we read arrived meanwhile; keep it.
                await repository.mark_synced(product_id)
            elif reading is None:
                gone = (product.availability or UNKNOWN).with_qty(0)
                await _observe(uow, product, gone, at, synced=True)
            else:
                now = Availability(
                    reading.qty, reading.price, reading.is_preorder, reading.release_date
                )
                await _observe(uow, product, now, at, synced=True)
            await uow.commit()

    async def _read(self, product_id: str) -> KinguinProductInfo | None:
        """The product as Kinguin sells it, or None if Kinguin no longer knows it (then it
        cannot be bought: nothing is in stock)."""
        try:
            return await self._kinguin.product(product_id)
        except KinguinRefused as refused:
            if refused.code != NOT_FOUND:
                raise
            logger.warning(
                "kinguin does not know a listed product", extra={"kinguin_product_id": product_id}
            )
            return None
