"""Products in Kinguin's JSON formats: the Product Object and its Offer Object
(api/products/v1/README.md) and the ``product.update`` webhook body (features/Webhooks.md).

The sandbox sells each product through one offer, so the cheapest offer is the product.
The catalogue details the sandbox does not model (developers, languages, ...) are filled
with fixed plausible values of the documented types.
"""

from datetime import datetime

from bitloot_sandbox_kinguin.config import ProductSpec
from bitloot_sandbox_kinguin.orders import Json, money, seconds, timestamp

MERCHANT = "KinguinSandbox"


def offer_json(spec: ProductSpec) -> Json:
    """The Offer Object of the product's one offer."""
    return {
        "name": spec.name,
        "offerId": spec.offer_id,
        "price": money(spec.price),
        "qty": spec.stock,
        "availableQty": spec.stock,
        "availableTextQty": spec.stock,
        "textQty": spec.stock,
        "merchantName": MERCHANT,
        "isPreorder": spec.is_preorder,
        "releaseDate": spec.release_date,
    }


def product_json(product_id: str, spec: ProductSpec, updated_at: datetime) -> Json:
    """The Product Object, as ``GET /v1/products/{kinguinId}`` and ``GET
    /v2/products/{productId}`` answer it."""
    return {
        "name": spec.name,
        "description": f"{spec.name}, sold by the Kinguin sandbox.",
        "developers": ["Sandbox Developer"],
        "publishers": ["Sandbox Publisher"],
        "genres": ["Action"],
        "platform": "Steam",
        "releaseDate": spec.release_date,
        "qty": spec.stock,
        "textQty": spec.stock,
        "price": money(spec.price),
        "cheapestOfferId": [spec.offer_id],
        "isPreorder": spec.is_preorder,
        "metacriticScore": 80,
        "regionalLimitations": "Region free",
        "countryLimitation": [],
        "regionId": 3,
        "activationDetails": "Activate the key in the platform's client.",
        "kinguinId": spec.kinguin_id,
        "productId": product_id,
        "originalName": spec.name,
        "videos": [{"video_id": "bvI62FUDpKA"}],
        "languages": ["English"],
        "systemRequirements": [{"system": "Windows", "requirement": ["OS: Windows 10"]}],
        "tags": ["base"],
        "offers": [offer_json(spec)],
        "offersCount": 1,
        "totalQty": spec.stock,
        "merchantName": [MERCHANT],
        "images": {
            "screenshots": [
                {
                    "url": "https://sandbox.invalid/screenshot.jpg",
                    "thumbnail": "https://sandbox.invalid/screenshot-thumbnail.jpg",
                }
            ],
            "cover": {
                "url": "https://sandbox.invalid/cover.jpg",
                "thumbnail": "https://sandbox.invalid/cover-thumbnail.jpg",
            },
        },
        "updatedAt": seconds(updated_at),
    }


def product_update_json(product_id: str, spec: ProductSpec, updated_at: datetime) -> Json:
    """The ``product.update`` webhook's body."""
    return {
        "kinguinId": spec.kinguin_id,
        "productId": product_id,
        "qty": spec.stock,
        "textQty": spec.stock,
        "cheapestOfferId": [spec.offer_id],
        "updatedAt": timestamp(updated_at),
    }
