"""What the payments endpoints depend on (`Edge`, built by `bootstrap` and read from the
app state with `bitloot_runtime.app.dependencies`), and how the service answers its
exceptions (`REFUSALS`, registered by `create_app`)."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from starlette.requests import Request

from bitloot_payments.adapters.payout_ipn import BadPayoutIpn
from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.domain.email_address import EmailRule
from bitloot_payments.domain.refunds import RefundRefused
from bitloot_payments.entrypoints.claim_pages import ClaimPages
from bitloot_payments.entrypoints.order_page import OrderPages
from bitloot_payments.handlers import queries
from bitloot_payments.handlers.catalog import SaveProduct
from bitloot_payments.handlers.checkout_limits import CheckoutGate
from bitloot_payments.handlers.place_order import (
    IdempotencyConflict,
    OrderPlacement,
    OrderRejected,
    PaymentProviderUnavailable,
    ProductUnavailable,
)
from bitloot_payments.handlers.receive_ipn import ForgedIpn, IpnReceiver, MalformedIpn
from bitloot_payments.handlers.receive_payout_ipn import PayoutIpnReceiver
from bitloot_payments.handlers.refund_claims import ClaimRefund, RequestClaimLink, ShowClaim
from bitloot_payments.handlers.refund_decisions import DecideRefund, RefundNotFound
from bitloot_payments.handlers.resolve_flags import DecideFlag, NotFound, Refused, ReplayIpn
from bitloot_payments.handlers.stats import ReadStats
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import Refusal
from bitloot_runtime.tokens import InvalidToken, OrderTokenVerifier


@dataclass(frozen=True)
class ClaimDesk:
    """The refund claim pages' use cases, and the pages they answer with."""

    show: ShowClaim
    claim: ClaimRefund
    new_link: RequestClaimLink
    pages: ClaimPages


@dataclass(frozen=True)
class Edge:
    """Checkout (its placement, rate limits and address rule), the IPN receivers, the
    reads (`units_of_work` for those `read` makes), the order token's verifier and the
    order page (`order_url`: its URL template, with ``{order_id}`` and ``{order_token}``),
    and the admins' decisions."""

    placement: OrderPlacement
    gate: CheckoutGate
    emails: EmailRule
    receiver: IpnReceiver
    payout_receiver: PayoutIpnReceiver
    units_of_work: Callable[[], PaymentsUnitOfWork]
    read_order: queries.ReadOrder
    list_orders: queries.ListOrders
    read_payment: queries.ReadPayment
    read_flag: queries.ReadFlag
    read_timeline: queries.ReadTimeline
    save_product: SaveProduct
    verifier: OrderTokenVerifier
    pages: OrderPages
    order_url: str
    decide_flag: DecideFlag
    replay_ipn: ReplayIpn
    decide_refund: DecideRefund
    read_stats: ReadStats
    claims: ClaimDesk


T = TypeVar("T")


async def read(request: Request, query: Callable[[PaymentsUnitOfWork], Awaitable[T]]) -> T:
    """A read that is one repository call (cosmicpython's views), in a unit of work of its
    own."""
    async with dependencies(request, Edge).units_of_work() as uow:
        return await query(uow)


REFUSALS = {
    # The reason and the order's path, never the token (nor the URL that carries it).
    InvalidToken: Refusal(
        lambda exc: 403 if exc.code == "token_wrong_order" else 401,
        log="order view refused",
        level=logging.INFO,
    ),
    OrderRejected: Refusal(422, "invalid_request", detail="The order is invalid."),
    ProductUnavailable: Refusal(409),
    IdempotencyConflict: Refusal(409, "idempotency_key_reused"),
    PaymentProviderUnavailable: Refusal(
        502, "payment_provider_unavailable", detail="The payment provider is unavailable."
    ),
    MalformedIpn: Refusal(400),
    ForgedIpn: Refusal(401, "invalid_signature"),
    BadPayoutIpn: Refusal(lambda exc: 401 if exc.code == "invalid_signature" else 400),
    NotFound: Refusal(404, "flag_not_found"),
    Refused: Refusal(lambda exc: 422 if exc.code == "note_required" else 409),
    RefundNotFound: Refusal(404, "not_found"),
    RefundRefused: Refusal(lambda exc: 400 if exc.code == "note_required" else 409),
}
