"""Kinguin's documented JSON shapes, transcribed from its eCommerce API documentation
(repository kinguinltdhk/Kinguin-eCommerce-API; each shape cites its file), and a check
of a document against them.

Transcription rules:

- A field's type is the one its table gives: ``int`` (a JSON integer), ``float`` (a
  JSON number), ``string``, ``bool``, ``string[]``, ``object``, ``object[]``.
- A field is required when the documentation's example shows it; a field the table lists
  but no example shows may be absent (`required=False`). No other field may appear.
- Where the table and the example disagree, the example (an answer as Kinguin sent it)
  wins, and the difference is noted beside the field: the Order Object's
  ``paymentPrice`` (table: string; every example: a number) and the Product Object's
  ``images`` and ``images.cover`` (table: object[]; example: an object).
"""

import re

from bitloot_sandbox_common.documented import Field, Shape, is_type, mismatches, optional

__all__ = ["Field", "Shape", "is_type", "mismatches", "optional"]

# api/order/v1/README.md, "Order Statuses" and "Key Statuses".
ORDER_STATUSES = frozenset({"processing", "completed", "canceled", "refunded"})
KEY_STATUSES = frozenset({"PENDING", "PROCESSING", "DELIVERED", "RETURNED", "REFUNDED", "CANCELED"})

# api/order/v2/README.md, "Key Object": "Can be text/plain or image/jpeg, image/png or image/gif".
KEY_TYPES = frozenset({"text/plain", "image/jpeg", "image/png", "image/gif"})

# api/ErrorsCodes.md, "Table of error codes".
ERROR_KINDS = frozenset(
    {
        "ConstraintViolation",
        "Error",
        "HttpClient",
        "Http",
        "Authorization",
        "InsufficientBalance",
        "OrderFailed",
        "Preorder",
        "ProductUnavailable",
        "OrderNotFound",
        "ResourceLock",
        "OrderNotSupported",
        "NoKeysToReturn",
    }
)

# api/order/v1/README.md, "Order Object" (``products.keys`` appears in the Get order and
# Search orders examples, not in the Place an order one; ``kinguinOrderId``, a previous
# order id, in no example).
ORDER_PRODUCT: Shape = {
    "kinguinId": Field("int"),
    "offerId": Field("string"),
    "productId": Field("string"),
    "qty": Field("int"),
    "name": Field("string"),
    "price": Field("float"),
    "totalPrice": Field("float"),
    "requestPrice": Field("float"),
    "isPreorder": Field("bool"),
    "releaseDate": Field("string"),
    "keyType": Field("string"),
    "keys": optional("object[]", {"id": Field("string"), "status": Field("string")}),
}
ORDER: Shape = {
    "totalPrice": Field("float"),
    "requestTotalPrice": Field("float"),
    "paymentPrice": Field("float"),  # table: string; examples: 5.29
    "status": Field("string"),
    "userEmail": Field("string"),
    "storeId": Field("int"),
    "createdAt": Field("string"),
    "orderId": Field("string"),
    "kinguinOrderId": optional("int"),
    # Optional in the request ("Required: No"): an order placed without one has none.
    "orderExternalId": optional("string"),
    "isPreorder": Field("bool"),
    "totalQty": Field("int"),
    # Shown for a pre-order; `preorder_release_date_rule` says when it must be there.
    "preorderReleaseDate": optional("string"),
    "products": Field("object[]", shape=ORDER_PRODUCT),
}

# api/order/v1/README.md, "Search orders" output.
ORDER_SEARCH: Shape = {
    "results": Field("object[]", shape=ORDER),
    "item_count": Field("int"),
}

# api/order/v2/README.md, "Key Object".
KEY: Shape = {
    "id": Field("string"),
    "name": Field("string"),
    "type": Field("string"),
    "serial": Field("string"),
    "kinguinId": Field("int"),
    "offerId": Field("string"),
    "productId": Field("string"),
}

# api/order/v2/README.md, "Return keys" output (each item of the answered list).
RETURNED_KEY: Shape = {"id": Field("string"), "status": Field("string")}

# api/balance/v1/README.md.
BALANCE: Shape = {"balance": Field("float")}

# api/products/v1/README.md, "Offer Object" (``merchantName`` is in the example only).
OFFER: Shape = {
    "name": Field("string"),
    "offerId": Field("string"),
    "price": Field("float"),
    "qty": Field("int"),
    "availableQty": optional("int"),
    "availableTextQty": optional("int"),
    "textQty": Field("int"),
    "merchantName": Field("string"),
    "isPreorder": Field("bool"),
    "releaseDate": Field("string"),
    "wholesale": optional(
        "object",
        {
            "enabled": Field("bool"),
            "tiers": Field("object[]", shape={"level": Field("int"), "price": Field("float")}),
        },
    ),
}
IMAGE: Shape = {"url": Field("string"), "thumbnail": Field("string")}

# api/products/v1/README.md, "Product Object" (also what /v2/products/{productId} returns).
PRODUCT: Shape = {
    "kinguinId": Field("int"),
    "productId": Field("string"),
    "cheapestOfferId": Field("string[]"),
    "name": Field("string"),
    "originalName": Field("string"),
    "description": Field("string"),
    "developers": Field("string[]"),
    "publishers": Field("string[]"),
    "genres": Field("string[]"),
    "platform": Field("string"),
    "releaseDate": Field("string"),
    "qty": Field("int"),
    "price": Field("float"),
    "textQty": Field("int"),
    "offers": Field("object[]", shape=OFFER),
    "offersCount": Field("int"),
    "totalQty": Field("int"),
    "isPreorder": Field("bool"),
    "metacriticScore": Field("float"),
    "regionalLimitations": Field("string"),
    "countryLimitation": Field("string[]"),
    "regionId": Field("int"),
    "activationDetails": Field("string"),
    "videos": Field("object[]"),
    "languages": Field("string[]"),
    "updatedAt": Field("string"),
    "systemRequirements": Field("object[]"),
    "tags": Field("string[]"),
    "merchantName": Field("string[]"),
    "ageRating": optional("string"),
    "steam": optional("string"),
    # table: object[]; example: {"screenshots": [...], "cover": {...}}
    "images": Field(
        "object",
        shape={
            "screenshots": Field("object[]", shape=IMAGE),
            "cover": Field("object", shape=IMAGE),  # table: object[]; example: an object
        },
    ),
}

# api/products/v1/README.md, "Search products" output.
PRODUCT_SEARCH: Shape = {
    "results": Field("object[]", shape=PRODUCT),
    "item_count": Field("int"),
}

# api/products/v1/README.md, "Regions" (a list of these), "Platforms" and "Genres" (lists
# of strings).
REGION: Shape = {"id": Field("int"), "name": Field("string")}

# api/ErrorsCodes.md: the example is a ConstraintViolation, the only error naming a
# property and its value.
ERROR: Shape = {
    "kind": Field("string"),
    "status": Field("int"),
    "title": Field("string"),
    "detail": Field("string"),
    "path": Field("string"),
    "method": Field("string"),
    "trace": Field("string"),
    "timestamp": Field("string"),
    "propertyPath": optional("string"),
    "invalidValue": optional("any"),
}

# features/Webhooks.md: the headers of every webhook, and the two bodies.
WEBHOOK_HEADERS = ("X-Event-Name", "X-Event-Secret")
PRODUCT_UPDATE: Shape = {
    "kinguinId": Field("int"),
    "productId": Field("string"),
    "qty": Field("int"),
    "textQty": Field("int"),
    "cheapestOfferId": Field("string[]"),
    "updatedAt": Field("string"),
}
ORDER_STATUS: Shape = {
    "orderId": Field("string"),
    "orderExternalId": optional("string"),  # as in the Order Object
    "status": Field("string"),
    "updatedAt": Field("string"),
}
# features/Webhooks.md: "Date of change in format Y-m-d\TH:i:s.vP".
WEBHOOK_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")


def preorder_release_date_rule(order: dict[str, object]) -> bool:
    """features/BuyingPreorders.md and the Order Object's example: a pre-order carries its
    ``preorderReleaseDate``; the sandbox leaves it out of any other order."""
    return ("preorderReleaseDate" in order) == (order.get("isPreorder") is True)
