"""The catalog command line against the running service's internal API."""

import json
from pathlib import Path

import httpx
import pytest

from bitloot_payments.entrypoints.catalog_cli import run

URL = "http://payments.test"
TOKEN = "payments-test-internal-token"


async def cli(transport: httpx.ASGITransport, *argv: str, token: str = TOKEN) -> int:
    return await run(["--url", URL, "--token", token, *argv], transport)


def printed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


async def test_put_creates_a_product_that_list_then_shows(
    transport: httpx.ASGITransport, capsys: pytest.CaptureFixture[str]
) -> None:
    status = await cli(
        transport, "put", "new-game", "--title", "New Game", "--kinguin-product-id", "k-77",
        "--price", "19.90", "--currency", "eur", "--max-purchase-price", "15",
    )  # fmt: skip
    assert status == 0
    assert printed(capsys)[0]["price"] == "19.9"
    assert await cli(transport, "list") == 0
    [product] = [p for p in printed(capsys) if p["sku"] == "new-game"]
    assert (product["title"], product["currency"], product["active"]) == ("New Game", "eur", True)


async def test_load_reads_a_json_file_and_deactivate_stops_selling(
    transport: httpx.ASGITransport, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    catalog = [
        {"sku": f"bulk-{i}", "title": f"Bulk {i}", "kinguin_product_id": f"k-{i}",
         "price": "3", "currency": "usd", "max_purchase_price": "2"}
        for i in range(3)
    ]  # fmt: skip
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    assert await cli(transport, "load", str(path)) == 0
    assert [p["sku"] for p in printed(capsys)] == ["bulk-0", "bulk-1", "bulk-2"]
    assert await cli(transport, "deactivate", "bulk-1") == 0
    assert printed(capsys)[0]["active"] is False


async def test_an_invalid_product_is_refused_with_its_reason_and_exit_1(
    transport: httpx.ASGITransport,
    capsys: pytest.CaptureFixture[str],
    admin: httpx.AsyncClient,
) -> None:
    status = await cli(
        transport, "put", "bad", "--title", "Bad", "--kinguin-product-id", "k",
        "--price", "-1", "--currency", "usd", "--max-purchase-price", "1",
    )  # fmt: skip
    assert status == 1
    assert "price" in capsys.readouterr().err
    listed = await admin.get("/internal/products")
    assert "bad" not in [p["sku"] for p in listed.json()["items"]]


async def test_a_wrong_token_or_no_service_is_a_clear_failure(
    transport: httpx.ASGITransport, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(transport, "list", token="wrong") == 1
    assert "unauthorized" in capsys.readouterr().err
    unreachable = await run(["--url", "http://127.0.0.1:9", "--token", TOKEN, "list"])
    assert unreachable == 2
    assert "cannot reach" in capsys.readouterr().err
