"""keys.delivered: open the sealed keys, store them encrypted, queue the customer's email.

The plaintext exists only in this process's memory, between `unseal` and `encrypt`. The
ciphertext is put in the object store before the delivery row is written; a crash in
between leaves an orphan object that the retry overwrites (same key), never a row
pointing at nothing. `delivery.completed` is emitted by the email sender, once the link
is in the customer's mailbox, not here.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bitloot_contracts.events import KeysDelivered
from bitloot_delivery.domain import vault
from bitloot_delivery.domain.keys import MalformedKeys, parse_keys
from bitloot_delivery.handlers.ports import DeliveryWork, NewDelivery, ObjectStore
from bitloot_runtime.errors import PermanentError
from bitloot_runtime.sealing import unseal

logger = logging.getLogger(__name__)


def object_key(order_id: UUID) -> str:
    return f"orders/{order_id}/keys.bin"


@dataclass(kw_only=True, eq=False, repr=False)
class StoreKeys:
    """The keys.delivered handler, holding what it needs to open and store keys."""

    store: ObjectStore
    private_keys: Mapping[str, X25519PrivateKey]
    keks: vault.KeyEncryptionKeys

    async def __call__(self, event: KeysDelivered, uow: DeliveryWork) -> None:
        await uow.deliveries.lock_order(event.order_id)
        if await uow.deliveries.get(event.order_id) is not None:
            logger.info("keys already stored; duplicate keys.delivered ignored")
            return
        plaintext = unseal(event.sealed, self.private_keys, event.order_id)
        try:
            keys = parse_keys(plaintext)
        except MalformedKeys as exc:
            raise PermanentError("malformed_keys", str(exc)) from None
        if len(keys) != event.key_count:
            raise PermanentError(
                "key_count_mismatch",
                f"The sealed payload holds {len(keys)} keys; the event says {event.key_count}.",
            )
        encrypted = vault.encrypt(plaintext, event.order_id, self.keks)
        key = object_key(event.order_id)
        await self.store.put(key, encrypted.ciphertext)
        delivery = NewDelivery(
            order_id=event.order_id,
            customer_email=event.customer_email,
            kinguin_order_id=event.kinguin_order_id,
            kek_id=encrypted.kek_id,
            wrapped_data_key=encrypted.wrapped_data_key,
            object_key=key,
            key_count=len(keys),
        )
        await uow.deliveries.add(delivery, keys)
        logger.info(
            "keys stored encrypted; email queued",
            extra={"key_count": len(keys), "kek_id": encrypted.kek_id},
        )
