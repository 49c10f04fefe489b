"""Products in Kinguin's JSON formats: the Product Object and its Offer Object
(api/products/v1/README.md) and the ``product.update`` webhook body (features/Webhooks.md).

The sandbox sells each product through one offer, so the cheapest offer is the product.
The catalogue details the sandbox does not model (developers, languages, ...) are filled
with fixed plausible values of the documented types.
"""

from collections.abc import Mapping
from datetime import datetime

from bitloot_sandbox_kinguin.config import ProductSpec
from bitloot_sandbox_kinguin.orders import Json, money, seconds, timestamp

MERCHANT = "KinguinSandbox"
PLATFORM = "Steam"
GENRES = ["Action"]
LANGUAGES = ["English"]
TAGS = ["base"]
REGION_ID = 3
# ``GET /v1/regions``, ``/v1/platforms`` and ``/v1/genres``: the docs' examples, with the
# values the sandbox's products use.
REGIONS: list[Json] = [
    {"id": 2, "name": "United States"},
    {"id": REGION_ID, "name": "REGION FREE"},
    {"id": 10, "name": "Rest of the world (RoW) - custom"},
]
PLATFORMS = [
    "PC Battle.net",
    "PC Epic Games",
    "PC GOG",
    "PC Steam",
    "PC Ubisoft Connect",
    "PC",
    PLATFORM,
]
ALL_GENRES = ["Action", "Adventure", "Casual", "Co-op", "FPS", "Fighting"]


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
        "genres": [*GENRES],
        "platform": PLATFORM,
        "releaseDate": spec.release_date,
        "qty": spec.stock,
        "textQty": spec.stock,
        "price": money(spec.price),
        "cheapestOfferId": [spec.offer_id],
        "isPreorder": spec.is_preorder,
        "metacriticScore": 80,
        "regionalLimitations": "Region free",
        "countryLimitation": [],
        "regionId": REGION_ID,
        "activationDetails": "Activate the key in the platform's client.",
        "kinguinId": spec.kinguin_id,
        "productId": product_id,
        "originalName": spec.name,
        "videos": [{"video_id": "bvI62FUDpKA"}],
        "languages": [*LANGUAGES],
        "systemRequirements": [{"system": "Windows", "requirement": ["OS: Windows 10"]}],
        "tags": [*TAGS],
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


def facets(product_id: str, spec: ProductSpec) -> dict[str, list[str]]:
    """What ``GET /v1/products``'s comma-separated filters match a product against."""
    return {
        "kinguinId": [str(spec.kinguin_id)],
        "productId": [product_id],
        "platform": [PLATFORM],
        "genre": GENRES,
        "languages": [*LANGUAGES],
        "regionId": [str(REGION_ID)],
        "tags": [*TAGS],
        "merchantName": [MERCHANT],
    }


def matches(product_id: str, spec: ProductSpec, query: Mapping[str, str]) -> bool:
    """Whether the product matches ``GET /v1/products``'s documented filters (the dates
    aside); `ValueError` names a filter of the wrong form."""
    for name, values in facets(product_id, spec).items():
        wanted = {item.strip() for item in query.get(name, "").split(",") if item.strip()}
        if name in query and not wanted & set(values):
            return False
    if "name" in query:
        if len(query["name"]) < 3:
            raise ValueError("name")
        if query["name"].lower() not in spec.name.lower():
            return False
    flags = {
        "isPreorder": ({"yes": True, "no": False}, spec.is_preorder),
        "activePreorder": ({"yes": True}, spec.is_preorder),
        "withText": ({"yes": True}, spec.stock > 0),
    }
    for name, (allowed, value) in flags.items():
        if name in query:
            if query[name] not in allowed:
                raise ValueError(name)
            if allowed[query[name]] != value:
                return False
    return True
