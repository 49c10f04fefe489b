"""Receiving a NOWPayments IPN: authenticate it, store it, answer.

Only what must happen before the answer happens here: the body is parsed, the signature
checked, and the IPN stored in `ipn_log` in one statement committed on its own (no unit of
work: nothing else is written, and no event is emitted). An authentic one is
stored pending and applied to its payment by `IpnProcessor` right after (woken by
`wake`), so NOWPayments gets its answer in milliseconds whatever the payment rules cost.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from pydantic import JsonValue

from bitloot_payments.adapters.ipn_signature import InvalidIpnBody, parse, verify
from bitloot_payments.domain import Coded
from bitloot_payments.domain.records import PENDING, IpnEntry
from bitloot_payments.handlers.edge_load import EdgeLoad
from bitloot_payments.metrics import PaymentsMetrics
from bitloot_runtime.errors import BitlootError
from bitloot_runtime.telemetry import active_traceparent

logger = logging.getLogger(__name__)


class MalformedIpn(Coded, BitlootError):
    """The body is not a JSON object we can verify (logged; nothing else happens); `code`
    says why."""


class ForgedIpn(BitlootError):
    """The signature is missing or wrong (logged; nothing else happens)."""


# Claims are only shown and searched: a longer one is not NOWPayments' and is not kept.
MAX_CLAIM = 128


def _claim(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if 0 < len(text) <= MAX_CLAIM else None


def claims(document: dict[str, JsonValue]) -> tuple[str | None, UUID | None, str | None]:
    """Payment id, order id and status as the body states them (not yet trusted)."""
    raw_order = _claim(document.get("order_id"))
    try:
        order_id = UUID(raw_order) if raw_order is not None else None
    except ValueError:
        order_id = None
    return _claim(document.get("payment_id")), order_id, _claim(document.get("payment_status"))


class IpnReceiver:
    """Handles IPNs at the edge; built in bootstrap with what stores one (committed on
    return: `adapters.ipn_log.store_received`), the IPN secrets in rotation and the
    processor's wake-up call."""

    def __init__(
        self,
        store: Callable[[IpnEntry], Awaitable[int]],
        secrets: Sequence[str],
        wake: Callable[[], None],
        load: EdgeLoad,
        metrics: PaymentsMetrics | None = None,
    ) -> None:
        self._log = store
        self._metrics = metrics
        self._secrets = tuple(secrets)
        self._wake = wake
        self._load = load

    async def __call__(self, body: bytes, signature: str | None, client: str) -> int:
        """Store an authentic IPN for processing; its log id. Raises `MalformedIpn` or
        `ForgedIpn` after logging a refused one."""
        with self._load.answering():
            return await self._receive(body, signature, client)

    async def _receive(self, body: bytes, signature: str | None, client: str) -> int:
        try:
            document = parse(body)
        except InvalidIpnBody as exc:
            await self._log(IpnEntry(body, signature_valid=False, result=exc.code))
            self._refused(exc.code)
            logger.warning(
                "IPN refused: unreadable body", extra={"client": client, "reason": exc.code}
            )
            raise MalformedIpn(exc.code, str(exc)) from None
        payment_id, order_id, status = claims(document)
        claimed = str(order_id) if order_id else None
        if not verify(document, signature, self._secrets, body):
            await self._log(
                IpnEntry(body, False, "invalid_signature", payment_id, order_id, status)
            )
            self._refused("bad_signature" if signature else "missing_signature")
            logger.warning(
                "IPN refused: invalid signature",
                extra={"client": client, "claimed_order_id": claimed},
            )
            raise ForgedIpn("The IPN signature is missing or invalid.")
        entry = IpnEntry(
            body, True, PENDING, payment_id, order_id, status, traceparent=active_traceparent()
        )
        ipn_id = await self._log(entry)
        self._wake()
        # The ipn_log row is the record; at INFO this line would double the edge's cost.
        logger.debug(
            "IPN stored",
            extra={"ipn_id": ipn_id, "order_id": claimed, "payment_id": payment_id},
        )
        return ipn_id

    def _refused(self, reason: str) -> None:
        """Count a refused IPN, once its refusal is logged (committed)."""
        if self._metrics is not None:
            self._metrics.ipn_refused.labels(reason=reason).inc()
