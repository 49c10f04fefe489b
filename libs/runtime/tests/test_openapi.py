"""The OpenAPI builder: paths and parameters from Starlette's routes, request bodies from
pydantic models, and the checks that keep a description and its app in step."""

from typing import Any, Literal

import schemathesis
from pydantic import BaseModel, Field
from schemathesis.core.result import Ok
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from bitloot_runtime.internal import DEAD_LETTER_ROUTES
from bitloot_runtime.openapi import (
    INTERNAL,
    PUBLIC,
    ApiRoute,
    describe,
    errors,
    ok,
    openapi_path,
    operation,
    problems,
    route_operations,
)
from bitloot_runtime.paging import Page, PageQuery


class Line(BaseModel):
    sku: str = Field(min_length=1)


class Basket(BaseModel):
    lines: list[Line] = Field(min_length=1)


async def endpoint(_request: Request) -> Response:
    return Response()


async def socket(_websocket: WebSocket) -> None:
    return None


PATHS: dict[str, dict[str, Any]] = {
    "/baskets": {"post": operation("A basket.", ok("Made.", status="201"), body=Basket)},
    "/internal/baskets/{basket_id:uuid}": {
        "get": operation("One basket.", {**ok("It."), **errors({"404": "None."})})
    },
}
ROUTES = [
    Route("/baskets", endpoint, methods=["POST"]),
    Route("/internal/baskets/{basket_id:uuid}", endpoint, methods=["GET"]),
    WebSocketRoute("/ws/{basket_id}", socket),
]


def test_a_starlette_path_becomes_an_openapi_path_with_typed_parameters() -> None:
    path, parameters = openapi_path("/letters/{letter_id:int}/by/{owner}")
    assert path == "/letters/{letter_id}/by/{owner}"
    assert [(p["name"], p["schema"]["type"]) for p in parameters] == [
        ("letter_id", "integer"),
        ("owner", "string"),
    ]


def test_a_body_model_and_the_models_it_uses_become_components() -> None:
    document = describe("Baskets", PATHS)
    body = document["paths"]["/baskets"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/Basket"}
    schemas = document["components"]["schemas"]
    assert schemas["Basket"]["properties"]["lines"]["items"] == {
        "$ref": "#/components/schemas/Line"
    }
    assert schemas["Line"]["required"] == ["sku"]
    answers = document["paths"]["/baskets"]["post"]["responses"]
    assert {"400", "413", "415", "422", "201"} <= set(answers)


def test_internal_operations_are_guarded_and_path_parameters_may_not_match() -> None:
    document = describe("Baskets", PATHS)
    one = document["paths"]["/internal/baskets/{basket_id}"]["get"]
    assert one["security"] == INTERNAL
    assert {"401", "404"} <= set(one["responses"])
    assert one["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}


def test_a_route_not_described_and_an_internal_operation_left_open_are_problems() -> None:
    open_internal = {
        **PATHS,
        "/internal/baskets/{basket_id:uuid}": {
            "get": operation("Open!", ok("It."), security=PUBLIC)
        },
    }
    found = problems(describe("Baskets", open_internal, routes=DEAD_LETTER_ROUTES), ROUTES)
    assert "not described: WEBSOCKET /ws/{basket_id}" in found
    assert "GET /internal/baskets/{basket_id}: not guarded by the internal token" in found
    assert "described, not served: GET /internal/dead-letters" in found


def test_route_operations_leave_head_out() -> None:
    routes = [Route("/x", endpoint, methods=["GET"])]
    assert route_operations(routes) == {("/x", "get")}


def test_schemathesis_reads_every_operation_of_a_description() -> None:
    schema = schemathesis.openapi.from_dict(describe("Baskets", PATHS, routes=DEAD_LETTER_ROUTES))
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results)
    assert {(op.method, op.path) for op in operations} >= {
        ("post", "/baskets"),
        ("get", "/internal/baskets/{basket_id}"),
        ("post", "/internal/dead-letters/{letter_id}/replay"),
    }


class BasketQuery(PageQuery):
    colour: Literal["red", "blue"] | None = None


class Made(BaseModel):
    basket_id: int


def test_a_declared_route_is_described_from_its_models() -> None:
    route = ApiRoute(
        "/internal/baskets",
        endpoint,
        summary="Baskets.",
        response=Page[Made],
        query=BasketQuery,
        refusals={"404": "None."},
    )
    document = describe("Baskets", routes=[route])
    spec = document["paths"]["/internal/baskets"]["get"]
    assert {p["name"]: p["schema"] for p in spec["parameters"]}["colour"] == {
        "enum": ["red", "blue"],
        "type": "string",
    }
    assert set(spec["responses"]) == {"200", "401", "404", "422"}
    page = spec["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert document["components"]["schemas"][page.rsplit("/", 1)[1]]["required"] == [
        "items",
        "next",
    ]
    assert "Made" in document["components"]["schemas"]


class Asked(BaseModel):
    status: str


def test_a_page_answers_html_or_json_and_a_form_or_other_statuses_are_described() -> None:
    route = ApiRoute(
        "/baskets/claim",
        endpoint,
        method="POST",
        summary="Claim a basket.",
        response=Made,
        others={
            "202": ("Asked for later.", Asked),
            "203": "Made elsewhere.",
            "303": ("Made; see there.", None),
        },
        form=Line,
        page=True,
        security=PUBLIC,
        refusals={"409": "Taken (`taken`)."},
    )
    script = ApiRoute("/basket.js", endpoint, summary="A script.", response=None, media="text/js")
    document = describe("Baskets", routes=[route, script])
    spec = document["paths"]["/baskets/claim"]["post"]
    answers = spec["responses"]
    assert set(answers["200"]["content"]) == {"text/html", "application/json"}
    assert answers["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/Asked")
    assert answers["203"]["content"] == answers["200"]["content"]
    assert answers["303"] == {"description": "Made; see there."}
    assert answers["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert "text/html" in answers["409"]["content"]
    form = spec["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form == {"$ref": "#/components/schemas/Line"}
    assert document["paths"]["/basket.js"]["get"]["responses"]["200"]["content"] == {"text/js": {}}
    # Served, this document would be too.
    assert problems(document, [route, script]) == ["described, not served: GET /openapi.json"]
