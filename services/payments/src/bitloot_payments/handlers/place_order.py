"""Placing an order: price it from the catalog, store it, ask NOWPayments for an invoice."""

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from bitloot_payments.adapters.nowpayments import (
    Invoice,
    NowPaymentsClient,
    NowPaymentsRejected,
    NowPaymentsUnavailable,
)
from bitloot_payments.domain.availability import unavailable
from bitloot_payments.domain.order import MixedCurrencies, PricedLine, order_total
from bitloot_payments.domain.records import Order
from bitloot_payments.handlers.keyed_locks import KeyedLocks
from bitloot_payments.handlers.ports import PaymentsWork, Product
from bitloot_payments.metrics import PaymentsMetrics
from bitloot_runtime.errors import BitlootError
from bitloot_runtime.logging import log_context
from bitloot_runtime.tokens import OrderTokenSigner

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestedLine:
    sku: str
    qty: int


@dataclass(frozen=True)
class PlacedOrder:
    """An order with its invoice, and the token that lets the customer see it."""

    order_id: UUID
    status: str
    total: Decimal
    currency: str
    invoice_url: str
    order_token: str


class OrderRejected(BitlootError):
    """The lines cannot be ordered; `fields` says which and why (nothing was stored)."""

    def __init__(self, fields: list[dict[str, str]]) -> None:
        super().__init__("The order cannot be placed.")
        self.fields = fields


class ProductUnavailable(BitlootError):
    """Kinguin cannot supply some lines now (nothing was stored, no invoice asked for):
    `code` is the first line's reason (`out_of_stock`, `price_above_maximum`), `fields`
    names every such line and its sku."""

    def __init__(self, fields: list[dict[str, str]]) -> None:
        super().__init__(fields[0]["error"])
        self.code = fields[0]["code"]
        self.fields = fields


class IdempotencyConflict(BitlootError):
    """The Idempotency-Key was already used for a different request (nothing stored)."""


class PaymentProviderUnavailable(BitlootError):
    """The order is stored (status `created`) but NOWPayments gave no invoice."""


def price_lines(lines: Sequence[RequestedLine], catalog: dict[str, Product]) -> list[PricedLine]:
    """The lines at catalog prices; `OrderRejected` naming every unknown or inactive sku."""
    problems = [
        {"field": f"lines.{i}.sku", "code": "unknown_sku", "error": f"No product {line.sku!r}."}
        for i, line in enumerate(lines)
        if line.sku not in catalog or not catalog[line.sku].active
    ]
    if problems:
        raise OrderRejected(problems)
    return [
        PricedLine(
            sku=line.sku,
            kinguin_product_id=catalog[line.sku].kinguin_product_id,
            qty=line.qty,
            unit_price=catalog[line.sku].price,
            max_unit_price=catalog[line.sku].max_purchase_price,
            currency=catalog[line.sku].currency,
        )
        for line in lines
    ]


@dataclass(frozen=True)
class StoredOrder:
    """What placing needs to know of an order, new or found by its Idempotency-Key."""

    order_id: UUID
    status: str
    total: Decimal
    currency: str
    invoice_url: str | None


def request_hash(email: str, lines: Sequence[RequestedLine]) -> str:
    """A digest of the request as validated, so a retry with the same key and the same
    order (whatever the JSON's key order or spacing) is recognised as such."""
    canonical = json.dumps(
        {"email": email, "lines": sorted((line.sku, line.qty) for line in lines)},
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replayed(order: Order, digest: str) -> StoredOrder:
    if order.request_hash != digest:
        raise IdempotencyConflict("This Idempotency-Key was used for a different order.")
    return StoredOrder(order.order_id, order.status, order.total, order.currency, order.invoice_url)


@dataclass(frozen=True)
class ReturnUrls:
    """Where NOWPayments sends the buyer afterwards: templates with ``{order_id}`` and
    ``{order_token}`` (a token that opens the order, so that the buyer lands on their
    order page, signed in)."""

    success: str | None = None
    cancel: str | None = None

    def of(self, order_id: UUID, order_token: str) -> tuple[str | None, str | None]:
        """The success and cancel URLs of `order_id`."""

        def filled(template: str | None) -> str | None:
            if not template:
                return None
            return template.format(order_id=order_id, order_token=order_token)

        return filled(self.success), filled(self.cancel)


class OrderPlacement:
    """Places orders; built in bootstrap with the NOWPayments client and the token signer."""

    def __init__(
        self,
        unit_of_work: Callable[[], PaymentsWork],
        nowpayments: NowPaymentsClient,
        signer: OrderTokenSigner,
        ipn_callback_url: str,
        return_urls: ReturnUrls = ReturnUrls(),
        reconcile_in: timedelta = timedelta(minutes=10),
        metrics: PaymentsMetrics | None = None,
    ) -> None:
        """`metrics`: where the orders placed are counted (``bitloot_orders_placed_total``)."""
        self._unit_of_work = unit_of_work
        self._nowpayments = nowpayments
        self._signer = signer
        self._ipn_callback_url = ipn_callback_url
        self._return_urls = return_urls
        self._reconcile_in = reconcile_in
        self._invoicing = KeyedLocks()
        self._metrics = metrics

    async def __call__(
        self, email: str, lines: Sequence[RequestedLine], idempotency_key: str | None = None
    ) -> PlacedOrder:
        """Store the order, then invoice it. The order is committed before NOWPayments is
        called, so an invoice never exists for an order we do not have. A retry with the
        same `idempotency_key` answers the same order, invoicing it if that failed before."""
        stored = await self._store(uuid4(), email, lines, idempotency_key)
        with log_context(order_id=str(stored.order_id)):
            invoice_url = stored.invoice_url or await self._invoice(stored)
        return PlacedOrder(
            order_id=stored.order_id,
            status=stored.status if stored.invoice_url else "invoiced",
            total=stored.total,
            currency=stored.currency,
            invoice_url=invoice_url,
            order_token=self._signer.issue(stored.order_id),
        )

    async def _invoice(self, order: StoredOrder) -> str:
        """The order's invoice URL, asking NOWPayments for an invoice only if nobody has
        yet. Requests retried with one Idempotency-Key arrive together: they queue here (in
        this process) and on the order's row (across instances), so exactly one of them
        calls NOWPayments and the others answer with its invoice."""
        async with self._invoicing.hold(order.order_id), self._unit_of_work() as uow:
            current = await uow.orders.load(order.order_id, lock=True)
            if current is not None and current.invoice_url:
                return current.invoice_url
            invoice = await self._create_invoice(order)
            await uow.orders.record_invoice(
                order.order_id, invoice.id, invoice.invoice_url, self._reconcile_in
            )
            await uow.commit()
        logger.info("invoice created", extra={"invoice_id": invoice.id})
        return invoice.invoice_url

    async def _create_invoice(self, order: StoredOrder) -> Invoice:
        token = self._signer.issue(order.order_id)
        success_url, cancel_url = self._return_urls.of(order.order_id, token)
        try:
            return await self._nowpayments.create_invoice(
                order.order_id,
                order.total,
                order.currency,
                f"BitLoot order {order.order_id}",
                self._ipn_callback_url,
                success_url=success_url,
                cancel_url=cancel_url,
            )
        except (NowPaymentsUnavailable, NowPaymentsRejected) as exc:
            logger.error("no invoice for the order", extra={"error": str(exc)})
            raise PaymentProviderUnavailable(str(exc)) from exc

    async def _store(
        self, order_id: UUID, email: str, lines: Sequence[RequestedLine], key: str | None
    ) -> StoredOrder:
        digest = request_hash(email, lines)
        async with self._unit_of_work() as uow:
            existing = await uow.orders.by_key(key) if key else None
            if existing is not None:
                return _replayed(existing, digest)
            total, currency, priced = await _priced(uow, lines)
            idempotency = (key, digest) if key else None
            if not await uow.orders.insert(order_id, email, priced, total, currency, idempotency):
                # Another request with this key committed first.
                await uow.rollback()
                raced = await uow.orders.by_key(key or "")
                if raced is None:
                    raise RuntimeError("An Idempotency-Key conflicted but its order is gone.")
                return _replayed(raced, digest)
            if self._metrics is not None:
                uow.on_commit(self._metrics.orders_placed.inc)
            await uow.commit()
        with log_context(order_id=str(order_id)):
            logger.info("order created", extra={"total": str(total), "currency": currency})
        return StoredOrder(order_id, "created", total, currency, None)


async def _priced(
    uow: PaymentsWork, lines: Sequence[RequestedLine]
) -> tuple[Decimal, str, list[PricedLine]]:
    catalog = await uow.catalog.by_sku([line.sku for line in lines])
    priced = price_lines(lines, catalog)
    known = await uow.availability.of({line.kinguin_product_id for line in priced})
    problems = unavailable(priced, known)
    if problems:
        logger.info("order refused: kinguin cannot supply it", extra={"problems": problems})
        raise ProductUnavailable(problems)
    try:
        total, currency = order_total(priced)
    except MixedCurrencies as exc:
        raise OrderRejected(
            [{"field": "lines", "code": "mixed_currencies", "error": str(exc)}]
        ) from None
    return total, currency, priced
