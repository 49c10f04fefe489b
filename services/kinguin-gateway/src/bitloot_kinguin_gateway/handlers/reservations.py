"""Buying an order's keys at Kinguin exactly once.

Exactly once (ARCHITECTURE §3.3): the reservation row is committed in state `placing`, in
a transaction of its own, before Kinguin is called, and our order id goes to Kinguin as
`orderExternalId`. Whatever happens next (a crash, a timeout, a duplicate message), the
retry finds the row still `placing` and asks Kinguin for the order by external id
before it may place one.

All of that holds only while the consumer's transaction holds the order's lock, and a
purchase can wait long for a rate-limit slot (through a database outage too). If the
database dropped the session meanwhile, the lock went with it, and a redelivered request
may have looked up, bought and settled the order already. So right before each POST, the
lock is asked for again on the handler's own transaction: a dead one raises and nothing is
bought; the redelivery left running is the one that buys.

The session can also die while the POST is under way (the process killed, the database
restarted), and the request be redelivered at once: Kinguin may then still be creating
the order, and a look-up find nothing. So the external id is stamped (`mark_sent`) and
committed before any purchase under it: a purchase leaves within `send_within` seconds
of the stamp, and is dropped after the client's deadline; a look-up that finds nothing
is believed only `send_within` + `in_flight` seconds after the last stamp (longer than
both together): the handler waits out the rest first. A new reservation's stamp is
committed with it, in the `placing` commit, so an order bought at once commits nothing
more before its POST; one that waited longer for its slot (a rate limit, a database
outage) is stamped again, and that commit comes before the lock is checked again, so
that whoever takes the lock after that check finds it. A handler that fails before any
POST left clears its own stamp, so that the redelivery does not wait for nothing.

`reservation.created` (or `reservation.failed`) is written to the outbox in the same
transaction that settles the row, so it goes out exactly once per request. A redelivered
request is stopped by the consumer's inbox; a *new* request for a settled order is an
admin retry (the saga asks again only then):

- the order is bought and its Kinguin order stands: `reservation.created` is announced
  again (the saga records a known Kinguin order idempotently);
- it bought nothing (refused) or its Kinguin order was canceled or refunded: every
  external id the order ever used is looked up at Kinguin first, and a live order found
  there is adopted; only if there is none is a new order placed, under a new external id
  `<order id>-<n>` committed before the call. So an order has at most one live (not
  canceled, not refunded) Kinguin order, whatever crashed when.

Never at a loss: before buying, each product's price is checked against the line's
`max_unit_price`, and the checked price is the one offered: Kinguin selects only offers at
or below the price in the order (api/order/v2, "Place an order") and refuses the order
when it has none, so it cannot charge more, whenever its price moved. The price checked
is the catalog's (`products`: Kinguin's own answer to `GET /v2/products/{productId}`, read
by the periodic sync at most `price_max_age` seconds ago) when it has one at or below the
maximum, else Kinguin's live one. Either is as safe: a live read is no more atomic with
the purchase than the catalog's, and the ceiling in the order is what protects us. Only a
live price above the maximum fails the order; and when Kinguin refuses an order priced
from the catalog as unavailable (its price rose since), the live prices are read and the
order placed again with them, once (a refusal places nothing, like a 429).

Only refusals about the order itself fail it. A rejected API key (`KinguinAccessDenied`)
is left to the consumer, which parks the message at once with the reason; the row stays
`placing`, so replaying the message once the key is fixed resumes safely.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bitloot_contracts.events import (
    KinguinOrderStatus,
    ReservationCreated,
    ReservationFailed,
    ReservationLine,
    ReservationRequested,
)
from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient, KinguinOrder, KinguinProduct
from bitloot_kinguin_gateway.adapters.kinguin_errors import KinguinRefused
from bitloot_kinguin_gateway.domain.reservation import (
    PriceAboveMaximum,
    Reservation,
    as_kinguin_status,
    check_price,
    is_live,
)
from bitloot_kinguin_gateway.handlers.ports import GatewayWork
from bitloot_runtime.errors import TransientError
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)

# Kinguin's refusal when no offer matches the order's products, quantities and prices.
PRODUCT_UNAVAILABLE = "product_unavailable"
# Twice the catalog sync's default period (bootstrap passes twice the configured one).
PRICE_MAX_AGE = 600.0
# Twice the Kinguin client's default deadline (bootstrap passes twice the configured one).
IN_FLIGHT = 30.0
# How long after its stamp a purchase may leave without a stamp of its own.
SEND_WITHIN = 2.0


@dataclass
class _Sending:
    """The stamp this handler holds on an external id (None: none yet), the loop's time
    from before it was committed, and whether a POST may have left since."""

    external_id: str
    stamp: datetime | None
    stamped_at: float
    sent: bool = False


class Reserve:
    """Handles `reservation.requested`."""

    def __init__(
        self,
        kinguin: KinguinClient,
        unit_of_work: Callable[[], GatewayWork],
        *,
        price_max_age: float = PRICE_MAX_AGE,
        in_flight: float = IN_FLIGHT,
        send_within: float = SEND_WITHIN,
    ) -> None:
        """Catalog prices read more than `price_max_age` seconds ago are not used; a
        purchase may be under way at Kinguin for `in_flight` seconds after it was sent,
        and leaves at most `send_within` seconds after the stamp it was sent under."""
        self._kinguin = kinguin
        self._unit_of_work = unit_of_work
        self._price_max_age = price_max_age
        self._in_flight = in_flight
        self._send_within = send_within

    async def __call__(self, event: ReservationRequested, uow: GatewayWork) -> None:
        with log_context(order_id=str(event.order_id)):
            repository = uow.reservations
            await repository.lock_order(event.order_id)
            opened_at = asyncio.get_running_loop().time()
            reservation, stamp = await self._commit_placing(event)
            if reservation.state == "placed" and is_live(reservation.kinguin_status):
                # A new request for an order bought already (an admin retry of a stuck
                # saga): announce it again; the saga records a known order idempotently.
                assert reservation.kinguin_order_id is not None  # set with `placed`
                bought = await self._kinguin.get_order(reservation.kinguin_order_id)
                logger.info(
                    "reservation already placed; announced again",
                    extra={"kinguin_order_id": bought.order_id, "status": bought.status},
                )
                await uow.emit(created(event, bought, known_status(bought.status)))
                return
            if reservation.state != "placing":
                # Settled without a live Kinguin order (refused, or canceled since): a
                # retry. Any external id used before may still hold a live order (a late
                # answer, an operator at Kinguin): adopt it rather than buy a second.
                if await self._adopt_live(uow, event):
                    return
                reservation = await self._commit_new_attempt(event)
                logger.info(
                    "retrying at kinguin under a new external id",
                    extra={"attempt": reservation.attempt},
                )
            # Looked up first, outside the `try`: a failed look-up must never fail the order.
            # Not when this request created the reservation just now: no call can have used
            # its external id, which is committed before any call that uses it.
            order = None
            if stamp is None:
                await self._wait_out_purchase(uow, reservation.external_id)
                order = await self._kinguin.find_by_external_id(reservation.external_id)
            if order is None:
                sending = _Sending(reservation.external_id, stamp, opened_at)
                try:
                    order = await self._place(uow, event, sending)
                except (KinguinRefused, PriceAboveMaximum) as refused:
                    await self._fail(uow, event, refused.code, str(refused))
                    return
                except Exception:
                    await self._unstamp(sending)
                    raise
            else:
                logger.info("kinguin order found by external id; not buying again")
            status = known_status(order.status)
            await repository.mark_placed(event.order_id, order.order_id, status)
            logger.info(
                "kinguin order placed",
                extra={"kinguin_order_id": order.order_id, "status": status},
            )
            await uow.emit(created(event, order, status))

    async def _adopt_live(self, uow: GatewayWork, event: ReservationRequested) -> bool:
        """Whether an earlier external id of the order holds a live Kinguin order, which
        then becomes the order's reservation again."""
        repository = uow.reservations
        for attempt in await repository.attempts(event.order_id):
            order = await self._kinguin.find_by_external_id(attempt.external_id)
            if order is None:
                continue
            status = known_status(order.status)
            await repository.record_attempt_status(attempt, order.order_id, status)
            if not is_live(status):
                continue
            logger.warning(
                "live kinguin order found under an earlier external id; adopting it",
                extra={"kinguin_order_id": order.order_id, "attempt": attempt.attempt},
            )
            await repository.mark_placed(event.order_id, order.order_id, status, attempt=attempt)
            await uow.emit(created(event, order, status))
            return True
        return False

    async def _wait_out_purchase(self, uow: GatewayWork, order_external_id: str) -> None:
        """Until no purchase sent under `order_external_id` can still be under way."""
        window = self._send_within + self._in_flight
        remaining = await uow.reservations.in_flight(order_external_id, window)
        if remaining > 0:
            logger.warning(
                "a purchase may still be under way at kinguin; waiting before looking it up",
                extra={"order_external_id": order_external_id, "wait_s": round(remaining, 1)},
            )
            await asyncio.sleep(remaining)

    async def _commit_new_attempt(self, event: ReservationRequested) -> Reservation:
        async with self._unit_of_work() as own:
            reservation = await own.reservations.start_attempt(event.order_id)
            await own.commit()
        return reservation

    async def _commit_placing(
        self, event: ReservationRequested
    ) -> tuple[Reservation, datetime | None]:
        """The order's reservation, committed `placing` if new; and its stamp if it is."""
        lines = [line.model_dump(mode="json") for line in event.lines]
        async with self._unit_of_work() as own:
            opened = await own.reservations.open(event.order_id, lines)
            await own.commit()
        return opened

    async def _unstamp(self, sending: _Sending) -> None:
        """Clear this handler's stamp if no POST left under it (best effort: left, it
        only makes the redelivery wait)."""
        if sending.sent or sending.stamp is None:
            return
        with contextlib.suppress(Exception):
            async with self._unit_of_work() as own:
                await own.reservations.unstamp(sending.external_id, sending.stamp)
                await own.commit()

    async def _place(
        self, uow: GatewayWork, event: ReservationRequested, sending: _Sending
    ) -> KinguinOrder:
        ids = {line.kinguin_product_id for line in event.lines}
        known = await uow.products.prices(ids, self._price_max_age)
        products, from_catalog = [], []
        for line in event.lines:
            price = known.get(line.kinguin_product_id)
            cataloged = price is not None and price <= line.max_unit_price
            if not cataloged:
                # Only Kinguin's live price may fail the order (the catalog's may be old).
                price = await self._kinguin.product_price(line.kinguin_product_id)
            assert price is not None
            price = check_price(line.kinguin_product_id, price, line.max_unit_price)
            products.append(KinguinProduct(line.kinguin_product_id, line.qty, price))
            from_catalog.append(cataloged)

        async def about_to_send() -> None:
            now = asyncio.get_running_loop().time()
            if sending.stamp is None or now - sending.stamped_at > self._send_within:
                # Committed before the lock is checked: a handler taking the lock after the
                # check (this session dying) must already find the purchase under way.
                sending.stamped_at = now
                async with self._unit_of_work() as own:
                    sending.stamp = await own.reservations.mark_sent(sending.external_id)
                    await own.commit()
            try:
                await uow.reservations.lock_order(event.order_id)
            except Exception as lost:
                logger.warning("order lock lost while waiting for kinguin; not buying")
                raise TransientError("The order's lock was lost before buying.") from lost
            sending.sent = True

        try:
            return await self._kinguin.place_order(
                sending.external_id, products, before_send=about_to_send
            )
        except KinguinRefused as refused:
            if refused.code != PRODUCT_UNAVAILABLE or not any(from_catalog):
                raise
            live = [
                await self._live(line, product) if cataloged else product
                for line, product, cataloged in zip(
                    event.lines, products, from_catalog, strict=True
                )
            ]
            if live == products:
                raise
        logger.info("catalog price behind kinguin's; ordering at the live price")
        return await self._kinguin.place_order(sending.external_id, live, before_send=about_to_send)

    async def _live(self, line: ReservationLine, product: KinguinProduct) -> KinguinProduct:
        """`product` at Kinguin's live price, checked against the line's maximum."""
        price = await self._kinguin.product_price(product.product_id)
        price = check_price(product.product_id, price, line.max_unit_price)
        return KinguinProduct(product.product_id, product.qty, price)

    @staticmethod
    async def _fail(uow: GatewayWork, event: ReservationRequested, code: str, reason: str) -> None:
        logger.warning("kinguin order refused", extra={"code": code, "reason": reason})
        await uow.reservations.mark_failed(event.order_id, code, reason)
        await uow.emit(ReservationFailed(order_id=event.order_id, code=code, reason=reason))


def created(
    event: ReservationRequested, order: KinguinOrder, status: KinguinOrderStatus
) -> ReservationCreated:
    """The announcement of `order`, bought for `event`'s order."""
    return ReservationCreated(
        order_id=event.order_id,
        kinguin_order_id=order.order_id,
        status=status,
        is_preorder=order.is_preorder,
        preorder_release_date=order.preorder_release_date,
    )


def known_status(value: str) -> KinguinOrderStatus:
    """Kinguin's order status, normalised; transient when it is one we do not know."""
    status = as_kinguin_status(value)
    if status is None:
        raise TransientError(f"Kinguin reported an unknown order status {value!r}.")
    return status
