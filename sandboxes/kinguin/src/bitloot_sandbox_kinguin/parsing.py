"""Reading the API's requests as api/order/v1 and v2 document them: an order's products,
paging, and the search filters; anything else is Kinguin's ``ConstraintViolation``."""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from pydantic import JsonValue

from bitloot_sandbox_kinguin.orders import Order
from bitloot_sandbox_kinguin.sandbox import KinguinError, Requested

MAX_PRODUCTS = 10
MAX_QTY = 9
MAX_LIMIT = 100


def invalid(detail: str, property_path: str, invalid_value: JsonValue) -> KinguinError:
    """A request that breaks the API's constraints."""
    return KinguinError(
        400,
        "ConstraintViolation",
        detail,
        property_path=property_path,
        invalid_value=invalid_value,
    )


def parse_products(
    value: JsonValue, by_kinguin_id: Mapping[int, str] | None = None
) -> list[Requested]:
    """The requested products: 1 to 10 distinct products, 1 to 9 units each. Named by
    ``productId`` (v2), or by the integer ``kinguinId`` (v1) when `by_kinguin_id` maps
    those to product ids."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_PRODUCTS:
        count = len(value) if isinstance(value, list) else value
        raise invalid(f"products must list 1 to {MAX_PRODUCTS} products", "products", count)
    requested = [parse_product(index, item, by_kinguin_id) for index, item in enumerate(value)]
    if len({item.product_id for item in requested}) != len(requested):
        raise invalid("products must not list a product twice", "products", None)
    return requested


def parse_product(
    index: int, item: JsonValue, by_kinguin_id: Mapping[int, str] | None = None
) -> Requested:
    """One ``{productId | kinguinId, qty, price, keyType?, offerId?}``."""
    where = f"products[{index}]"
    if not isinstance(item, dict):
        raise invalid("each product must be an object", where, item)
    product_id = product_of(where, item, by_kinguin_id)
    qty = item.get("qty")
    if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= MAX_QTY:
        raise invalid(
            f"qty of {product_id} must be an integer from 1 to {MAX_QTY}", f"{where}.qty", qty
        )
    key_type = item.get("keyType")
    if key_type is not None and key_type != "text":
        raise invalid('keyType can only be "text"', f"{where}.keyType", key_type)
    offer_id = item.get("offerId")
    if offer_id is not None and not isinstance(offer_id, str):
        raise invalid("offerId must be a string", f"{where}.offerId", offer_id)
    return Requested(product_id, qty, price(where, item.get("price")), key_type, offer_id)


def product_of(
    where: str, item: dict[str, JsonValue], by_kinguin_id: Mapping[int, str] | None
) -> str:
    """The product id a request line names (an unknown kinguinId names no product)."""
    if by_kinguin_id is None:
        product_id = item.get("productId")
        if not isinstance(product_id, str):
            raise invalid("each product needs a productId", f"{where}.productId", product_id)
        return product_id
    kinguin_id = item.get("kinguinId")
    if isinstance(kinguin_id, bool) or not isinstance(kinguin_id, int):
        raise invalid("each product needs an integer kinguinId", f"{where}.kinguinId", kinguin_id)
    return by_kinguin_id.get(kinguin_id, f"kinguinId {kinguin_id}")


def price(where: str, value: JsonValue) -> Decimal:
    """The most the buyer pays for one unit: a positive number."""
    try:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidOperation
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise invalid("price must be a number", f"{where}.price", value) from None
    if not parsed.is_finite() or parsed <= 0:
        raise invalid("price must be positive", f"{where}.price", value)
    return parsed


def page_params(query: Mapping[str, str]) -> tuple[int, int]:
    """``page`` (from 1, default 1) and ``limit`` (1 to 100, default 25)."""
    values = {}
    for name, default in (("page", "1"), ("limit", "25")):
        raw = query.get(name, default)
        try:
            values[name] = int(raw)
        except ValueError:
            raise invalid(f"{name} must be an integer", name, raw) from None
    if values["page"] < 1:
        raise invalid("page must be at least 1", "page", values["page"])
    if not 1 <= values["limit"] <= MAX_LIMIT:
        raise invalid(f"limit must be from 1 to {MAX_LIMIT}", "limit", values["limit"])
    return values["page"], values["limit"]


def moment(name: str, raw: str) -> datetime:
    """A date in one of the documented formats (``Y-m-d``, ``Y-m-d H:i:s``,
    ``Y-m-dTH:i:s``, ``Y-m-dTH:i:s.uZ``, ``Y-m-dTH:i:sP``); without an offset, UTC."""
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid(f"{name} is not a date", name, raw) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def has(value: str, values: Callable[[Order], list[str | None]]) -> Callable[[Order], bool]:
    return lambda order: value in values(order)


# The query parameters matched against an order's values.
SEARCHED: dict[str, Callable[[Order], list[str | None]]] = {
    "orderId": lambda order: [order.order_id],
    "orderExternalId": lambda order: [order.order_external_id],
    "status": lambda order: [order.status],
    "productId": lambda order: [line.product_id for line in order.lines],
    "kinguinId": lambda order: [str(line.spec.kinguin_id) for line in order.lines],
}


def order_filter(query: Mapping[str, str]) -> Callable[[Order], bool]:
    """Whether an order matches ``GET /v1/order``'s documented query parameters."""
    tests = [has(query[name], values) for name, values in SEARCHED.items() if name in query]
    if "isPreorder" in query:
        flag = query["isPreorder"]
        if flag not in ("yes", "no"):
            raise invalid('isPreorder must be "yes" or "no"', "isPreorder", flag)
        tests.append(lambda o: o.is_preorder == (flag == "yes"))
    if "createdAtFrom" in query:
        start = moment("createdAtFrom", query["createdAtFrom"])
        tests.append(lambda o: o.created_at >= start)
    if "createdAtTo" in query:
        end = moment("createdAtTo", query["createdAtTo"])
        tests.append(lambda o: o.created_at <= end)
    return lambda order: all(test(order) for test in tests)
