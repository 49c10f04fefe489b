"""OpenAPI 3.1 descriptions of the services' HTTP APIs, served at ``GET /openapi.json``.

Each service writes its paths in Starlette's form (``/internal/orders/{order_id:uuid}``);
`describe` turns them into OpenAPI paths with typed path parameters, adds the routes
every service shares (health, metrics, dead letters, this document), and hoists the
pydantic models' JSON Schemas into ``components``. `route_operations` lists what an app
really serves, so a service's test can require that every route is described.

A route declared as an `ApiRoute` describes itself: its summary, its query model (a
`bitloot_runtime.http.QueryModel`: the parameters), its body model, its response model
(every 2xx body is typed) and its refusals. Pass the app's routes to `describe` and no
description is written by hand; `paths` remains for operations not yet declared so.
"""

import copy
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import httpx
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp

from bitloot_runtime.http import QueryModel

Schema = dict[str, Any]
JSON = "application/json"

ERROR: Schema = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA: Schema = {
    "type": "object",
    "required": ["error", "detail", "fields"],
    "properties": {
        "error": {"type": "string", "description": "Machine-readable reason."},
        "detail": {"type": "string", "description": "What went wrong, for a person."},
        "fields": {"type": "array", "items": {"type": "object"}},
    },
}
INTERNAL_SCHEME = "internalToken"
INTERNAL: list[dict[str, list[str]]] = [{INTERNAL_SCHEME: []}]
PUBLIC: list[dict[str, list[str]]] = []
SECURITY_SCHEMES: Schema = {
    INTERNAL_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "The internal service token (current or previous): /internal/* only, "
        "never routed from outside the cluster.",
    },
}
ORDER_TOKEN_SCHEME: Schema = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT (EdDSA)",
    "description": "The order token payments returns at checkout, valid for that order only.",
}
BODY_ERRORS = {
    "400": "Malformed JSON (`malformed_json`) or a key given twice (`duplicate_json_key`).",
    "413": "The body is too large (`body_too_large`).",
    "415": "The body is not application/json (`unsupported_media_type`).",
    "422": "The body is not a valid request; `fields` names each problem.",
}
NO_MATCH = {"404": "Not found, or a path parameter of the wrong form (`not_found`)."}
UNAUTHORIZED = {"401": "No valid credential (`unauthorized`, `token_*`)."}

_PARAMETER = re.compile(r"\{(\w+)(?::(\w+))?\}")
_CONVERTOR_SCHEMAS: dict[str, Schema] = {
    "str": {"type": "string", "pattern": "^[^/]+$"},
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer", "minimum": 0},
}


def errors(statuses: Mapping[str, str]) -> dict[str, Any]:
    """Error answers, ``{status: description}``, each with the `ERROR` body."""
    return {
        status: {"description": text, "content": {JSON: {"schema": ERROR}}}
        for status, text in statuses.items()
    }


def ok(description: str, schema: Schema | None = None, status: str = "200") -> dict[str, Any]:
    """A successful JSON answer (any object unless `schema` says more)."""
    body = schema or {"type": "object"}
    return {status: {"description": description, "content": {"application/json": {"schema": body}}}}


def query(name: str, schema: Schema | None = None, description: str = "") -> Schema:
    parameter: Schema = {"name": name, "in": "query", "schema": schema or {"type": "string"}}
    if description:
        parameter["description"] = description
    return parameter


IDEMPOTENCY_KEY: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    # The form is said, not declared: a fuzzer's out-of-pattern values would not be
    # sendable as a header at all (non-ASCII); the server answers any bad one 400.
    "schema": {"type": "string"},
    "description": "A new random key (a UUID: 8-200 printable ASCII characters) per "
    "intended action. Repeats with the same "
    "key, at once or later (within the keys' lifetime), have no second effect and get the "
    "first answer, with `Idempotent-Replayed: true`. Without it every request acts.",
}
IDEMPOTENCY_ERRORS = {
    "400": "A malformed `Idempotency-Key` (`invalid_idempotency_key`).",
    "409": "The first request with this `Idempotency-Key` has not finished "
    "(`idempotency_key_in_progress`); ask again. Or it failed after it may have acted "
    "(`idempotency_key_in_doubt`): it is never run again; look, then use a new key.",
    "422": "This `Idempotency-Key` was used for another request (`idempotency_key_reused`).",
}


def _keyed(answers: dict[str, Any]) -> dict[str, Any]:
    """`answers` with the refusals of `IDEMPOTENCY_ERRORS`, joined to any of the same status."""
    keyed = {**answers}
    for status, text in IDEMPOTENCY_ERRORS.items():
        if status in keyed:
            keyed[status] = {
                **keyed[status],
                "description": f"{keyed[status]['description']} {text}",
            }
        else:
            keyed.update(errors({status: text}))
    return keyed


LIMIT = query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size.")


def operation(
    summary: str,
    responses: Mapping[str, Any],
    *,
    security: list[dict[str, list[str]]] | None = None,
    parameters: Sequence[Schema] = (),
    body: type[BaseModel] | Schema | None = None,
    body_errors: Mapping[str, str] = BODY_ERRORS,
    keyed: bool = False,
) -> Schema:
    """One operation; `security` defaults to `INTERNAL`; a `body` (a pydantic model or a
    JSON Schema) is required application/json and brings `body_errors` along; `keyed`:
    answered once per ``Idempotency-Key`` (`bitloot_runtime.idempotency`)."""
    guarded = INTERNAL if security is None else security
    answers: dict[str, Any] = {**responses}
    if guarded:
        answers = {**errors(UNAUTHORIZED), **answers}
    described: Schema = {"summary": summary, "security": guarded, "responses": answers}
    if parameters:
        described["parameters"] = list(parameters)
    if body is not None:
        described["requestBody"] = {"required": True, "content": {"application/json": {}}}
        described["x-body"] = body
        described["responses"] = {**errors(body_errors), **answers}
    return with_key(described) if keyed else described


def with_key(spec: Schema) -> Schema:
    """`spec` answered once per ``Idempotency-Key``: the header and its refusals."""
    if IDEMPOTENCY_KEY in spec.get("parameters", []):
        return spec
    parameters = [*spec.get("parameters", []), IDEMPOTENCY_KEY]
    return {**spec, "parameters": parameters, "responses": _keyed(spec["responses"])}


def _schema_of(
    body: type[BaseModel] | Schema, components: Schema, mode: str = "validation"
) -> Schema:
    if isinstance(body, dict):
        return body
    schema = body.model_json_schema(
        ref_template="#/components/schemas/{model}",
        mode="serialization" if mode == "serialization" else "validation",
    )
    components.update(schema.pop("$defs", {}))
    # A generic model is named ``Page[Item]``; a component name may not hold brackets.
    name = re.sub(r"[^\w.\-]", "_", body.__name__)
    components[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def _not_null(schema: Schema) -> Schema:
    """An optional parameter's schema without its null: absent is how a query says none."""
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default", "title")}
    return {**rest, **options[0]} if len(options) == 1 else rest


def query_parameters(model: type[QueryModel], components: Schema) -> list[Schema]:
    """`model`'s fields as query parameters (a list field: the parameter repeated)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    parameters = []
    for name, field in schema["properties"].items():
        described = _not_null(field)
        text = described.pop("description", "")
        parameter = {"name": name, "in": "query", "required": name in required}
        parameters.append(
            {**parameter, "schema": described, **({"description": text} if text else {})}
        )
    return parameters


BAD_QUERY = {"422": "A query parameter is invalid: `error` names it, `fields` each problem."}


class ApiRoute(Route):
    """A route that describes itself in the OpenAPI document (see `describe`).

    `endpoint` is a module-level ``async def endpoint(request) -> Response`` taking its
    dependencies from the app state (`bitloot_runtime.app.dependencies`). `response` is
    the model (or JSON Schema) of its `status` body (None: no body), `media` its type
    when it is not JSON (then undescribed: a script, Prometheus' text), `others` further
    statuses answered with the same body (``{"503": "Not ready."}``), their own
    (``{"202": ("Asked.", Asked)}``) or none (``{"303": ("Go home.", None)}``); `query`, `body`
    and `form` the models it parses (`parse_query`, `parse_body`, a form's fields);
    `refusals` its error answers, ``{"404": "No such order (`order_not_found`)."}``;
    `security` as for `operation`. A `page` answers a browser HTML (its refusals too)
    and a client that accepts JSON the same answers as JSON.
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[[Request], Awaitable[Response]],
        *,
        summary: str,
        response: type[BaseModel] | Schema | None,
        method: str = "GET",
        status: int = 200,
        success: str = "",
        media: str = JSON,
        others: Mapping[str, str | tuple[str, type[BaseModel] | None]] | None = None,
        query: type[QueryModel] | None = None,
        body: type[BaseModel] | None = None,
        form: type[BaseModel] | None = None,
        body_errors: Mapping[str, str] = BODY_ERRORS,
        refusals: Mapping[str, str] | None = None,
        security: list[dict[str, list[str]]] | None = None,
        headers: Sequence[Schema] = (),
        page: bool = False,
    ) -> None:
        super().__init__(path, endpoint, methods=[method])
        self.method = method.lower()
        self.summary, self.success = summary, success or summary
        self.response, self.status, self.media = response, str(status), media
        self.others = others or {}
        self.query, self.body, self.form, self.body_errors = query, body, form, body_errors
        self.refusals = {**(BAD_QUERY if query else {}), **(refusals or {})}
        self.security, self.headers, self.page = security, headers, page

    def operation(self, components: Schema) -> Schema:
        """This route's OpenAPI operation; its models' schemas go into `components`."""
        content: Schema = {}
        if self.page:
            content["text/html"] = {}
        if self.response is not None and self.media == JSON:
            schema = _schema_of(self.response, components, "serialization")
            content[JSON] = {"schema": schema}
        elif self.media != JSON:
            content[self.media] = {}
        answers = {self.status: _answer(self.success, content)}
        for status, other in self.others.items():
            if isinstance(other, str):
                answers[status] = _answer(other, content)
            else:
                text, model = other
                if model is None:  # no body: a redirect
                    answers[status] = _answer(text, {})
                    continue
                schema = _schema_of(model, components, "serialization")
                answers[status] = _answer(text, {**content, JSON: {"schema": schema}})
        parameters = [*self.headers]
        if self.query is not None:
            parameters += query_parameters(self.query, components)
        refusals = errors(self.refusals)
        if self.page:
            for answer in refusals.values():
                answer["content"] = {"text/html": {}, **answer["content"]}
        described = operation(
            self.summary,
            {**answers, **refusals},
            security=self.security,
            parameters=parameters,
            body=self.body,
            body_errors=self.body_errors,
        )
        if self.form is not None:
            form = {"schema": _schema_of(self.form, components)}
            body = described.setdefault("requestBody", {"required": True, "content": {}})
            body["content"]["application/x-www-form-urlencoded"] = form
        return described


def _answer(description: str, content: Schema) -> Schema:
    return {"description": description, **({"content": content} if content else {})}


def openapi_path(path: str) -> tuple[str, list[Schema]]:
    """A Starlette route path as an OpenAPI path and its path parameters."""
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _CONVERTOR_SCHEMAS.get(convertor or "str", {"type": "string"}),
        }
        for name, convertor in _PARAMETER.findall(path)
    ]
    return _PARAMETER.sub(r"{\1}", path), parameters


def _runtime_paths() -> dict[str, Schema]:
    return {
        "/openapi.json": {"get": operation("This document.", ok("OpenAPI 3.1."), security=PUBLIC)}
    }


def describe(
    title: str,
    paths: Mapping[str, Mapping[str, Schema]] | None = None,
    *,
    routes: Iterable[BaseRoute] = (),
    security_schemes: Mapping[str, Schema] | None = None,
    description: str = "",
    extensions: Mapping[str, Any] | None = None,
) -> Schema:
    """The service's OpenAPI document: its `routes` that are `ApiRoute`s (`create_app`
    passes the runtime's own too: health, metrics, dead letters), its `paths`, and this
    document's. Every internal POST (an admin's action) is described with
    ``Idempotency-Key``, as `create_app` serves it (`bitloot_runtime.idempotency.keyed_routes`)."""
    components: Schema = {"Error": ERROR_SCHEMA}
    declared: dict[str, dict[str, Schema]] = {}
    for route in routes:
        if isinstance(route, ApiRoute):
            declared.setdefault(route.path, {})[route.method] = route.operation(components)
    described: dict[str, Schema] = {}
    for raw_path, operations in {**_runtime_paths(), **(paths or {}), **declared}.items():
        path, parameters = openapi_path(raw_path)
        described[path] = {}
        for method, spec in operations.items():
            spec = copy.deepcopy(dict(spec))
            body = spec.pop("x-body", None)
            if body is not None:
                spec["requestBody"]["content"]["application/json"]["schema"] = _schema_of(
                    body, components
                )
            if parameters:
                spec["parameters"] = [*parameters, *spec.get("parameters", [])]
                spec["responses"] = {**errors(NO_MATCH), **spec["responses"]}
            if method == "post" and path.startswith("/internal/"):
                spec = with_key(spec)
            described[path][method] = spec
    info = {"title": title, "version": "1", "description": description}
    return {
        "openapi": "3.1.0",
        "info": info,
        "components": {
            "securitySchemes": {**SECURITY_SCHEMES, **(security_schemes or {})},
            "schemas": components,
        },
        "paths": described,
        **(extensions or {}),
    }


def openapi_routes(document: Schema) -> list[Route]:
    """``GET /openapi.json``, serving `document`."""

    async def openapi(_request: Request) -> Response:
        return JSONResponse(document)

    return [Route("/openapi.json", openapi, methods=["GET"])]


async def served(app: ASGIApp, path: str = "/openapi.json") -> Schema:
    """The JSON document `app` answers at `path`, asked in process (no server, no lifespan);
    `LookupError` unless it answers 200."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://openapi.local") as http:
        answer = await http.get(path)
    if answer.status_code != 200:
        raise LookupError(f"GET {path} answered {answer.status_code}")
    document: Schema = answer.json()
    return document


def route_operations(routes: Iterable[BaseRoute]) -> set[tuple[str, str]]:
    """``(OpenAPI path, method)`` of every HTTP route among `routes` (HEAD left out) and
    ``(path, "websocket")`` of every WebSocket route."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Route):
            path = openapi_path(route.path)[0]
            found |= {(path, m.lower()) for m in route.methods or () if m != "HEAD"}
        elif isinstance(route, WebSocketRoute):
            found.add((openapi_path(route.path)[0], "websocket"))
    return found


def described_operations(document: Schema) -> set[tuple[str, str]]:
    """``(path, method)`` of every operation in `document`, WebSockets (the
    ``x-websockets`` extension) as ``(path, "websocket")``."""
    http = {(path, method) for path, ops in document["paths"].items() for method in ops}
    return http | {(path, "websocket") for path in document.get("x-websockets", {})}


def problems(document: Schema, routes: Iterable[BaseRoute]) -> list[str]:
    """What is wrong between `document` and the app's `routes`: a route not described, an
    operation no route serves, an internal operation open without the internal token, an
    guarded operation that describes no 401, a refusal (4xx) in another shape than `ERROR`,
    a bound pydantic could not write as JSON Schema."""
    served, described = route_operations(routes), described_operations(document)
    found = [f"not described: {m.upper()} {p}" for p, m in sorted(served - described)]
    found += [f"described, not served: {m.upper()} {p}" for p, m in sorted(described - served)]
    for path, operations in document["paths"].items():
        for method, spec in operations.items():
            name = f"{method.upper()} {path}"
            if path.startswith("/internal/") and spec.get("security") != INTERNAL:
                found.append(f"{name}: not guarded by the internal token")
            statuses = spec["responses"]
            if spec.get("security") and "401" not in statuses:
                found.append(f"{name}: guarded, but no 401 described")
            for status, answer in statuses.items():
                content = answer.get("content", {}).get("application/json")
                if (
                    status.startswith("4")
                    and content is not None
                    and content.get("schema") != ERROR
                ):
                    found.append(f"{name}: {status} is not the error shape")
    found += [
        f"{where}: pydantic's {key!r}, not JSON Schema's" for where, key in _unschema(document)
    ]
    return found


# Keys pydantic leaves in a schema when it cannot turn a constraint into JSON Schema (a
# bound after a validator: `Annotated[Whole, Field(ge=1)]`); a client, or schemathesis,
# then does not learn the bound.
_PYDANTIC_ONLY = frozenset({"ge", "gt", "le", "lt", "multiple_of"})


def _unschema(node: object, where: str = "#") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _PYDANTIC_ONLY and not isinstance(value, dict):
                yield where, key
            yield from _unschema(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _unschema(item, f"{where}/{index}")
