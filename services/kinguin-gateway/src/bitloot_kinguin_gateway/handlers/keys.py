"""Fetching a completed order's keys from Kinguin and handing them, sealed, to delivery.

The keys are in plaintext only in this handler's memory: they are sealed with HPKE to
delivery's public key before anything is written or published, and never logged.
Fetching again on a redelivered request is harmless (Kinguin returns the same keys).
"""

import json
import logging
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from bitloot_contracts.events import KeysDelivered, KeysRequested
from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient, KinguinKey
from bitloot_kinguin_gateway.domain.reservation import expected_key_count
from bitloot_kinguin_gateway.handlers.ports import GatewayWork
from bitloot_runtime.errors import PermanentError, TransientError
from bitloot_runtime.logging import log_context
from bitloot_runtime.sealing import seal

logger = logging.getLogger(__name__)


class KeysIncomplete(TransientError):
    def __init__(self, got: int, expected: int) -> None:
        super().__init__(f"Kinguin returned {got} of {expected} keys; asking again later.")


class FetchKeys:
    """Handles `keys.requested`."""

    def __init__(self, kinguin: KinguinClient, recipient: X25519PublicKey, key_id: str) -> None:
        """Keys are sealed to `recipient`, delivery's public key with id `key_id`."""
        self._kinguin = kinguin
        self._recipient = recipient
        self._key_id = key_id

    async def __call__(self, event: KeysRequested, uow: GatewayWork) -> None:
        with log_context(order_id=str(event.order_id)):
            repository = uow.reservations
            reservation = await repository.get(event.order_id, for_update=True)
            if reservation is None:
                raise PermanentError("unknown_order", f"No reservation for {event.order_id}.")
            expected = expected_key_count(reservation.lines)
            keys = await self._kinguin.get_keys(event.kinguin_order_id)
            if len(keys) != expected:
                raise KeysIncomplete(len(keys), expected)
            sealed = seal(plaintext(keys), self._recipient, self._key_id, event.order_id)
            await repository.record_keys(event.order_id, len(keys), event.customer_email)
            await uow.emit(
                KeysDelivered(
                    order_id=event.order_id,
                    kinguin_order_id=event.kinguin_order_id,
                    customer_email=event.customer_email,
                    key_count=len(keys),
                    sealed=sealed,
                )
            )
            logger.info("keys sealed for delivery", extra={"key_count": len(keys)})


def plaintext(keys: Sequence[KinguinKey]) -> bytes:
    """What delivery opens: ``{"keys": [{"type", "value", "product_id"}, ...]}``."""
    document = {
        "keys": [{"type": k.type, "value": k.serial, "product_id": k.product_id} for k in keys]
    }
    return json.dumps(document, separators=(",", ":")).encode()
