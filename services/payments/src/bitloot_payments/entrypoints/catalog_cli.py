"""``bitloot-payments-catalog``: manage the catalog through the internal API.

    bitloot-payments-catalog list
    bitloot-payments-catalog put SKU --title T --kinguin-product-id K --price 4.99
        --currency usd --max-purchase-price 3 [--inactive]
    bitloot-payments-catalog load products.json   # [{"sku": …, "title": …, …}, …]
    bitloot-payments-catalog deactivate SKU

The service is reached at ``--url`` (``PAYMENTS_URL``) with the service token
``--token`` (``PAYMENTS_INTERNAL_TOKEN``). Exit status: 0 done, 1 refused, 2 unreachable.
"""

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

Product = dict[str, Any]
_FIELDS = (
    "title",
    "kinguin_product_id",
    "price",
    "currency",
    "max_purchase_price",
    "active",
    "platform",
)


class CatalogRefused(Exception):
    """The service refused a change; the message carries its reason per field."""


class CatalogClient:
    """The catalog part of the payments internal API (also used to seed the demo)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, token: str) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._headers = {"authorization": f"Bearer {token}"}

    async def products(self) -> list[Product]:
        answer = await self._http.get(f"{self._base_url}/internal/products", headers=self._headers)
        _check(answer)
        items: list[Product] = answer.json()["items"]
        return items

    async def put(self, product: Product) -> Product:
        """Create or replace `product` (a dict with ``sku`` and every product field)."""
        body = {name: product[name] for name in _FIELDS if name in product}
        url = f"{self._base_url}/internal/products/{product['sku']}"
        answer = await self._http.put(url, json=body, headers=self._headers)
        _check(answer, str(product.get("sku")))
        saved: Product = answer.json()
        return saved

    async def deactivate(self, sku: str) -> Product:
        found = [p for p in await self.products() if p["sku"] == sku]
        if not found:
            raise CatalogRefused(f"{sku}: no such product")
        return await self.put({**found[0], "active": False})


def _check(answer: httpx.Response, what: str = "catalog") -> None:
    if answer.is_success:
        return
    try:
        error = answer.json()
    except ValueError:
        error = {"error": answer.status_code, "detail": answer.text[:200]}
    fields = "; ".join(f"{f.get('field')}: {f.get('error')}" for f in error.get("fields", []))
    raise CatalogRefused(f"{what}: {error.get('error')} {error.get('detail', '')} {fields}".strip())


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="bitloot-payments-catalog",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli.add_argument("--url", default=os.environ.get("PAYMENTS_URL", "http://127.0.0.1:8001"))
    cli.add_argument("--token", default=os.environ.get("PAYMENTS_INTERNAL_TOKEN"))
    commands = cli.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every product, as JSON lines")
    put = commands.add_parser("put", help="create or replace one product")
    put.add_argument("sku")
    for name in ("title", "kinguin-product-id", "price", "currency", "max-purchase-price"):
        put.add_argument(f"--{name}", required=True)
    put.add_argument("--platform", help="where the keys are redeemed, e.g. Steam")
    put.add_argument("--inactive", action="store_true")
    load = commands.add_parser("load", help="create or replace the products in a JSON file")
    load.add_argument("file", type=Path)
    commands.add_parser("deactivate", help="stop selling a product").add_argument("sku")
    return cli


async def _run(args: argparse.Namespace, catalog: CatalogClient) -> list[Product]:
    if args.command == "list":
        return await catalog.products()
    if args.command == "deactivate":
        return [await catalog.deactivate(args.sku)]
    if args.command == "load":
        products = json.loads(args.file.read_text())
        if not isinstance(products, list):
            raise CatalogRefused(f"{args.file}: expected a JSON list of products")
        return [await catalog.put(product) for product in products]
    fields = {name: getattr(args, name) for name in _FIELDS if name != "active"}
    return [await catalog.put({"sku": args.sku, **fields, "active": not args.inactive})]


async def run(argv: Sequence[str], transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Run the command line `argv`; the exit status. `transport` serves tests in process."""
    args = parser().parse_args(argv)
    if not args.token:
        print("no service token: pass --token or set PAYMENTS_INTERNAL_TOKEN", file=sys.stderr)
        return 2
    async with httpx.AsyncClient(transport=transport, timeout=10.0) as http:
        try:
            products = await _run(args, CatalogClient(http, args.url, args.token))
        except CatalogRefused as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 1
        except (httpx.TransportError, OSError) as exc:
            print(f"cannot reach {args.url}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
    for product in products:
        print(json.dumps(product, sort_keys=True))
    return 0


def main() -> None:
    sys.exit(asyncio.run(run(sys.argv[1:])))
