"""``GET /admin/openapi.json``: the OpenAPI description of the admin API, kept by hand
here and checked against the routing table by a test, so no route goes undocumented."""

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.flags import DECISIONS, MAX_NOTE
from bitloot_admin.domain.hand_keys import HandKeys
from bitloot_admin.domain.listings import LISTINGS
from bitloot_admin.entrypoints import openapi_account, openapi_refunds
from bitloot_contracts.order_filters import ORDER_FILTERS
from bitloot_runtime.openapi import BODY_ERRORS, errors, with_key

_ERROR = {"$ref": "#/components/schemas/Error"}
_PARTIAL = {
    "type": "array",
    "items": {"type": "string"},
    "description": "Services that did not answer.",
}
_LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
}


def _query(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "schema": {"type": "string"}} for n in names]


def _path(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]


def _ids(*names: str) -> list[dict[str, Any]]:
    """Path parameters that are a row's id at its service (another value is a 404)."""
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
        for n in names
    ]


def _operation(
    summary: str, parameters: list[dict[str, Any]], answer: dict[str, Any]
) -> dict[str, Any]:
    errors = {
        status: {"description": text, "content": {"application/json": {"schema": _ERROR}}}
        for status, text in (
            ("401", "No valid session."),
            (
                "403",
                "The admin's role may not do this (`forbidden_role`), an owner must enrol a "
                "second factor first (`totp_enrolment_required`), or a browser's action lacks "
                "its CSRF token (`csrf_failed`).",
            ),
            ("404", "Not found."),
            ("422", "Invalid parameter; `fields` names it."),
        )
    }
    # An action whose service did not answer is an error; a view answers what it has,
    # naming the services that did not answer in `partial`.
    unanswered = {"anyOf": [_ERROR, {"type": "object", "required": ["partial"]}]}
    errors["503"] = {
        "description": "The service that owns it did not answer.",
        "content": {"application/json": {"schema": unanswered}},
    }
    ok = {"description": "OK", "content": {"application/json": {"schema": answer}}}
    return {"summary": summary, "parameters": parameters, "responses": {"200": ok, **errors}}


def _page(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    properties = {
        "items": {"type": "array", "items": {"type": "object"}},
        "next": {"description": "Query parameters of the next page, or null."},
        "partial": _PARTIAL,
        **(extra or {}),
    }
    return {"type": "object", "properties": properties}


_DOCUMENT = {
    "type": "object",
    "properties": {
        "item": {"type": ["object", "null"], "description": "Null when its service is down."},
        "partial": _PARTIAL,
    },
}
_ACTION = {
    "type": "object",
    "properties": {"service": {"type": "string"}, "result": {"type": "object"}},
}
_ORDER = _path("order_id")
_NOTE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "note": {
            "type": ["string", "null"],
            "maxLength": MAX_NOTE,
            "description": "Why the admin decided so; required (not blank) to dismiss.",
        }
    },
}


def _decision(summary: str) -> dict[str, Any]:
    """A decision on a flag: an optional JSON note; payments may refuse it (409: already
    resolved, or not open to this flag; 422: no note to dismiss, `note_too_long`)."""
    described = _operation(summary, _ids("flag_id"), _ACTION)
    described["requestBody"] = {
        "required": False,
        "content": {"application/json": {"schema": _NOTE}},
    }
    refusals = errors(
        {
            **BODY_ERRORS,
            "409": "`flag_resolved`, or `cannot_<decision>`.",
            "422": "The body is not `{note}`, `note_too_long`, or `note_required` to dismiss.",
        }
    )
    described["responses"] = {**described["responses"], **refusals}
    return described


def _deliver_keys() -> dict[str, Any]:
    """Keys entered by hand: sealed to delivery in the admin, handed on by fulfillment."""
    described = _operation(
        "Deliver a failed or stuck order's keys by hand, once (audited without the keys).",
        _ORDER,
        _ACTION,
    )
    described["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HandKeys"}}},
    }
    refusals = errors(
        {
            **BODY_ERRORS,
            "409": "Fulfillment refuses: `already_delivered_by_hand`, `order_refunded`, "
            "`keys_already_with_delivery` or `not_failed_or_stuck`.",
            "422": "The body is not `{keys: [{serial, type, product_id}]}`, or the keys do not "
            "fit the order: `key_count_mismatch`, `duplicate_key`, `key_not_printable`.",
            "503": "Fulfillment did not answer, or `hand_delivery_not_configured`.",
        }
    )
    described["responses"] = {**described["responses"], **refusals}
    return described


_HAND_KEYS = HandKeys.model_json_schema(ref_template="#/components/schemas/{model}")


_IPN_REPLAY = _operation(
    "Put an IPN payments gave up on (result `error`) back in its queue (audited).",
    _ids("ipn_id"),
    _ACTION,
)
_IPN_REPLAY["responses"]["409"] = errors({"409": "`ipn_not_failed`: it was applied."})["409"]


def _replay_letter() -> dict[str, Any]:
    described = _operation(
        "Send a parked message back to its queue (audited); one already replayed and not "
        "parked again is refused unless `force=true`.",
        [*_path("service", "letter_id"), *_query("force")],
        _ACTION,
    )
    described["responses"]["409"] = errors(
        {"409": "`dead_letter_already_replayed`: send `force=true` to replay it once more."}
    )["409"]
    return described


PATHS: dict[str, dict[str, Any]] = {
    "/admin/login": {
        "post": {
            "summary": "Log in: JSON {username, password} answers {token} (a Bearer session); "
            "429 with Retry-After when rate limited, 423 when locked.",
            "requestBody": {
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Login"}}}
            },
            "responses": {
                **errors(BODY_ERRORS),
                "200": {"description": "The session token."},
                "401": {
                    "description": "Wrong credentials.",
                    "content": {"application/json": {"schema": _ERROR}},
                },
                "423": {
                    "description": "Locked.",
                    "content": {"application/json": {"schema": _ERROR}},
                },
                "429": {
                    "description": "Too many logins.",
                    "content": {"application/json": {"schema": _ERROR}},
                },
            },
        }
    },
    "/admin/api/orders": {
        "get": _operation(
            "Orders, newest first: by id, e-mail, day (YYYY-MM-DD), the statuses the list "
            "shows (payment, fulfilment, refund, customer) or a preset (needs_action, failed, "
            "stuck, refund_due); `status` is the order's own status. A value outside a "
            "filter's enum is refused with 422 `invalid_<filter>`. Cursor pagination.",
            [
                _LIMIT,
                *_query("order_id", "email", "status", "date", "cursor"),
                *(
                    {"name": n, "in": "query", "schema": {"type": "string", "enum": list(known)}}
                    for n, known in ORDER_FILTERS.items()
                ),
            ],
            _page(),
        )
    },
    "/admin/api/orders/{order_id}": {
        "get": _operation("An order and its timeline across every service.", _ORDER, _page())
    },
    "/admin/api/orders/{order_id}/key-audit": {
        "get": _operation("Delivery's key audit of an order.", _ORDER, _DOCUMENT)
    },
    "/admin/api/orders/{order_id}/emails": {
        "get": _operation("Delivery's email log of an order.", _ORDER, _DOCUMENT)
    },
    "/admin/api/orders/{order_id}/retry": {
        "post": _operation("Retry a failed or stuck saga (audited).", _ORDER, _ACTION)
    },
    "/admin/api/orders/{order_id}/deliver-keys": {"post": _deliver_keys()},
    "/admin/api/orders/{order_id}/resend-email": {
        "post": _operation("Send the key email again (audited).", _ORDER, _ACTION)
    },
    "/admin/api/orders/{order_id}/link": {
        "post": _operation("Issue a fresh reveal link (audited).", _ORDER, _ACTION)
    },
    "/admin/api/orders/{order_id}/object-url": {
        "post": _operation(
            "A presigned URL of the sealed keys object (audited).",
            [*_ORDER, *_query("ttl_seconds")],
            _ACTION,
        )
    },
    **{
        f"/admin/api/{name}": {
            "get": _operation(
                f"{listing.title} ({listing.service}).",
                [_LIMIT, *_query(*listing.filters, listing.page_param)],
                _page(),
            )
        }
        for name, listing in LISTINGS.items()
    },
    "/admin/api/payments/{item_id}": {
        "get": _operation("A payment with its IPN history and flags.", _path("item_id"), _DOCUMENT)
    },
    "/admin/api/webhooks/{item_id}": {
        "get": _operation("One logged Kinguin webhook.", _path("item_id"), _DOCUMENT)
    },
    "/admin/api/webhooks/{webhook_id}/replay": {
        "post": _operation("Replay a logged webhook (audited).", _path("webhook_id"), _ACTION)
    },
    "/admin/api/flags/{flag_id}": {
        "get": _operation(
            "A payment flag: its order's status, the decisions open to it, its refunds.",
            _ids("flag_id"),
            _DOCUMENT,
        )
    },
    **{
        f"/admin/api/flags/{{flag_id}}/{name}": {
            "post": _decision(
                f"Decide a flag: {decision.label.lower()}. {decision.means} Audited with the note."
            )
        }
        for name, decision in DECISIONS.items()
    },
    **openapi_refunds.PATHS,
    **openapi_account.PATHS,
    "/admin/api/ipns/{ipn_id}": {
        "get": _operation("One IPN with its raw body and attempts.", _ids("ipn_id"), _DOCUMENT)
    },
    "/admin/api/ipns/{ipn_id}/replay": {"post": _IPN_REPLAY},
    "/admin/api/dead-letters": {
        "get": _operation(
            "Parked messages of every service.", [_LIMIT, *_query("include_replayed")], _page()
        )
    },
    "/admin/api/dead-letters/{service}/{letter_id}/replay": {"post": _replay_letter()},
    "/admin/api/health": {
        "get": _operation(
            "Each service's readiness and outbox, every queue's depth and consumers, and "
            "`kinguin_balance`: the Kinguin balance in EUR as the gateway last read it, "
            "`state` `ok`, `low` (below the gateway's threshold) or `unknown` (the gateway "
            "did not answer or never read it; `error` says which), `stale` when its last "
            "read failed.",
            [],
            {"type": "object"},
        )
    },
    "/admin/api/audit": {
        "get": _operation(
            "Audited admin actions, newest first.",
            [_LIMIT, *_query("before", "username", "action")],
            _page(),
        )
    },
}

# Every action is answered once per Idempotency-Key (`bitloot_admin.entrypoints.keys`);
# handing keys over by hand is once per order by the saga itself.
for _path_name, _operations in PATHS.items():
    _action = _path_name.startswith("/admin/api/") and not _path_name.endswith("/deliver-keys")
    if _action and "post" in _operations:
        _operations["post"] = with_key(_operations["post"])

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "BitLoot admin API", "version": "1"},
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "bitloot_admin"},
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "detail", "fields"],
                "properties": {
                    "error": {"type": "string", "description": "Machine-readable code."},
                    "detail": {"type": "string"},
                    "fields": {"type": "array", "items": {"type": "object"}},
                    "partial": _PARTIAL,
                },
            },
            **_HAND_KEYS.pop("$defs"),
            "HandKeys": _HAND_KEYS,
            "Login": {
                "type": "object",
                "required": ["username", "password"],
                "properties": {
                    "username": {"type": "string"},
                    "password": {"type": "string"},
                    "totp": {
                        "type": "string",
                        "description": "The authenticator app's code, or a recovery code: "
                        "needed once the account has a second factor (`totp_required`).",
                    },
                },
            },
        },
    },
    "security": [{"bearer": []}, {"cookie": []}],
    "paths": PATHS,
}


def routes() -> list[BaseRoute]:
    async def openapi(_request: Request) -> Response:
        return JSONResponse(DOCUMENT)

    return [Route("/openapi.json", openapi, methods=["GET"])]
