"""``GET /openapi.json``: the OpenAPI description of the payments API, public and
internal; request bodies come from the pydantic models that validate them, and a test
checks every route is described."""

from typing import Any, get_args

from bitloot_contracts.events.refund import RefundStatus
from bitloot_contracts.flags import FLAG_STATUSES
from bitloot_contracts.order_filters import ORDER_FILTERS
from bitloot_payments.entrypoints.internal import ProductBody
from bitloot_payments.entrypoints.internal_flags import DecisionBody
from bitloot_payments.entrypoints.internal_refunds import DecisionBody as RefundDecisionBody
from bitloot_payments.entrypoints.public import MAX_IDEMPOTENCY_KEY, OrderBody
from bitloot_runtime.openapi import (
    BODY_ERRORS,
    ERROR,
    LIMIT,
    ORDER_TOKEN_SCHEME,
    PUBLIC,
    errors,
    ok,
    operation,
    query,
)
from bitloot_runtime.openapi import describe as describe_api

_TIME = {"type": "string", "format": "date-time"}
_UUID = {"type": "string", "format": "uuid"}
_BAD_QUERY = errors({"422": "A query parameter is invalid; `error` names it."})
_FULFILMENT_STATE = (
    "`customer_status` is what to tell the customer. `fulfilment_state` is the fulfillment "
    "saga's state as `order.status_changed` last announced it (null before that): the saga "
    "announces only changes of the customer status and the end of the order, so it stays "
    "`reserving` while the keys are bought and sent; fulfillment's timeline has every step."
)
_ORDER_FILTER_WORDS = {
    "payment": "NOWPayments' status of the order's payment.",
    "fulfilment": "The fulfillment saga's state (`fulfilment_state`).",
    "refund": "Orders with a refund in this status.",
    "customer": "What the customer is told (`customer_status`); a page may then hold "
    "fewer than `limit` orders and still have a `cursor`.",
    "preset": "`needs_action`: waits for an admin (open flag, refund claimed or failed, "
    "failed with no refund, stuck); `failed`: fulfilment failed; `stuck`: paid, fulfilment "
    "not ended after `PAYMENTS_STUCK_AFTER_SECONDS`; `refund_due`: money owed back, not sent.",
}
_ORDER_TOKEN: list[dict[str, list[str]]] = [{"orderToken": []}, {"orderTokenQuery": []}]
_PAYOUT_IPN = {
    "type": "object",
    "description": "NOWPayments' payout IPN: the withdrawal object, signed in "
    "`x-nowpayments-sig` like payment IPNs.",
    "properties": {
        "id": {"type": "string"},
        "batch_withdrawal_id": {"type": "string"},
        "status": {"type": "string"},
        "hash": {"type": ["string", "null"]},
        "error": {"type": ["string", "null"]},
        "amount": {"type": "string"},
        "currency": {"type": "string"},
    },
    "required": ["id", "status", "amount", "currency"],
}
_IPN = {
    "type": "object",
    "description": "NOWPayments' IPN, signed in `x-nowpayments-sig` (HMAC-SHA512 of the body "
    "re-serialised with sorted keys).",
    "properties": {
        "payment_id": {"type": ["integer", "string"]},
        "payment_status": {"type": "string"},
        "order_id": {"type": "string"},
        "price_amount": {"type": "number"},
        "price_currency": {"type": "string"},
        "actually_paid": {"type": "number"},
        "pay_currency": {"type": "string"},
    },
}


def _page_or_json(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"text/html": {}, "application/json": {"schema": {"type": "object"}}},
    }


def _refusals(statuses: dict[str, str]) -> dict[str, Any]:
    """Refusals of the claim page: a page, or the one error shape for JSON clients."""
    content = {"text/html": {}, "application/json": {"schema": ERROR}}
    return {status: {"description": text, "content": content} for status, text in statuses.items()}


_CLAIM_FORM = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["token"],
                "properties": {
                    "token": {"type": "string", "description": "The claim link's token."},
                    "address": {"type": "string", "maxLength": 128},
                    "extra_id": {
                        "type": "string",
                        "maxLength": 128,
                        "description": "Memo / destination tag, for currencies that have one.",
                    },
                },
            }
        }
    },
}
_TOKEN_REFUSALS = {
    "401": "The link is not valid (`token_missing`, `token_invalid`); nothing changes.",
    "410": "The link expired (`token_expired`): the page offers a new link.",
}


def _claim(summary: str, answers: dict[str, Any], *, form: bool) -> dict[str, Any]:
    described = operation(summary, answers, security=PUBLIC)
    if form:
        described["requestBody"] = _CLAIM_FORM
    return described


CLAIM_PATHS: dict[str, dict[str, Any]] = {
    "/refunds/claim": {
        "get": _claim(
            "The claim page of the refund the link names: order, amount, currency, why, and "
            "the payout address form (HTML; JSON with Accept: application/json).",
            {
                "200": _page_or_json("The refund and, while due, the form."),
                **_refusals(_TOKEN_REFUSALS),
            },
            form=False,
        )
        | {"parameters": [query("token", description="The claim link's token.")]},
        "post": _claim(
            "Claim the refund: where to send it. Validated (format and checksum where "
            "known) before anything is stored.",
            {
                "200": _page_or_json("Claimed; what happens next."),
                **_refusals(
                    {
                        **_TOKEN_REFUSALS,
                        "400": "The form could not be read (`invalid_form`).",
                        "409": "Already claimed (`already_claimed`) or no longer open "
                        "(`refund_closed`); nothing changes.",
                        "413": "The form is too large (`body_too_large`).",
                        "422": "The address or extra id is refused (`address_required`, "
                        "`address_too_long`, `address_invalid`, `address_checksum`, "
                        "`extra_id_required`, `extra_id_invalid`, `extra_id_not_accepted`); "
                        "nothing changes.",
                        "429": "Too many claims from this address or for this refund "
                        "(`rate_limited`, Retry-After).",
                    }
                ),
            },
            form=True,
        ),
    },
    "/refunds/claim/new-link": {
        "post": _claim(
            "An expired link's page asks for a new claim link, emailed to the order's address.",
            {
                "200": _page_or_json("The refund is no longer due: where it stands."),
                "202": _page_or_json("A new link was asked for."),
                **_refusals(
                    {
                        "401": "The link is not genuine (`token_missing`, `token_invalid`).",
                        "400": "The form could not be read (`invalid_form`).",
                        "413": "The form is too large (`body_too_large`).",
                        "429": "Too many new links (`rate_limited`, Retry-After).",
                    }
                ),
            },
            form=True,
        )
    },
}


def _listing(summary: str, *filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": operation(summary, {**ok("A page."), **_BAD_QUERY}, parameters=[LIMIT, *filters])
    }


PATHS: dict[str, dict[str, Any]] = {
    "/orders": {
        "post": operation(
            "Place an order: answers its id, total, invoice URL, order token and "
            "`order_url`, the customer's order page (opened with the token).",
            {
                **ok("The order, awaiting payment.", status="201"),
                **errors(
                    {
                        "409": "Kinguin cannot supply a line now (`out_of_stock`, "
                        "`price_above_maximum`; `fields` names each line and its sku), or the "
                        "Idempotency-Key was used for another order (`idempotency_key_reused`). "
                        "Nothing is stored and no invoice is created.",
                        "429": "Too many orders from this client or from everyone "
                        "(`rate_limited`; `fields` names the limit, `checkout_client`, "
                        "`checkout_network` (the client's IPv6 /48) or `checkout_global`; "
                        "Retry-After). Nothing is stored and no invoice "
                        "is created.",
                        "502": "NOWPayments did not answer (`payment_provider_unavailable`).",
                    }
                ),
            },
            security=PUBLIC,
            body=OrderBody,
            parameters=[
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY},
                }
            ],
        )
    },
    "/orders/{order_id:uuid}": {
        "get": operation(
            "The order's status, for the holder of its order token: JSON for API clients "
            "(any Accept but one that takes text/html without application/json), the "
            "customer's order page for a browser (its status live over fulfillment's "
            "WS /ws/orders/{order_id}, through /orders/live.js).",
            {
                "200": _page_or_json(f"The order (JSON: {_FULFILMENT_STATE})"),
                **_refusals(
                    {
                        "401": "No valid order token (`token_missing`, `token_invalid`, "
                        "`token_expired`).",
                        "403": "The token is for another order (`token_wrong_order`).",
                        "404": "No such order (`order_not_found`).",
                    }
                ),
            },
            security=_ORDER_TOKEN,
        )
    },
    "/orders/live.js": {
        "get": operation(
            "The order page's script (it follows the live status and updates the page).",
            {"200": {"description": "JavaScript.", "content": {"text/javascript": {}}}},
            security=PUBLIC,
        )
    },
    "/payments/ipn": {
        "post": operation(
            "NOWPayments' instant payment notification: logged, then applied in the background.",
            ok("Stored."),
            security=[{"nowpaymentsSignature": []}],
            body=_IPN,
            body_errors={
                "400": "Not valid JSON, a NUL or lone surrogate (`malformed_json`), a key "
                "given twice (`duplicate_json_key`), not an object (`not_an_object`).",
                "413": "Larger than 64 KiB (`body_too_large`).",
            },
        )
    },
    "/payments/payout-ipn": {
        "post": operation(
            "NOWPayments' payout IPN (a refund's payout moved): logged once, then applied in "
            "the background. An authentic body received again is answered and not stored.",
            ok("Stored, or already stored."),
            security=[{"nowpaymentsSignature": []}],
            body=_PAYOUT_IPN,
            body_errors={
                "400": "Not valid JSON (`malformed_json`), a key given twice "
                "(`duplicate_json_key`), not an object (`not_an_object`), not a payout "
                "(`not_a_payout`).",
                "401": "The signature is missing or wrong (`invalid_signature`).",
                "413": "Larger than 64 KiB (`body_too_large`).",
            },
        )
    },
    "/internal/orders": _listing(
        "Orders, newest first, with their `payment_status`, `fulfilment_state`, "
        "`refund_status` (the newest refund's) and `customer_status`. A value outside a "
        "filter's enum is refused with 422 `invalid_<filter>`.",
        query("email"),
        query("status", description="The order's own status (created, invoiced, paid, …)."),
        *(
            query(name, {"type": "string", "enum": list(known)}, _ORDER_FILTER_WORDS[name])
            for name, known in ORDER_FILTERS.items()
        ),
        query("cursor", description="`cursor` of the previous page."),
        query("before", _TIME, description="Orders created strictly earlier."),
    ),
    "/internal/orders/{order_id:uuid}": {
        "get": operation(
            "An order and its lines.",
            {**ok(f"The order. {_FULFILMENT_STATE}"), **errors({"404": "None."})},
        )
    },
    "/internal/orders/{order_id:uuid}/timeline": {
        "get": operation("What payments did for an order.", ok("The timeline."))
    },
    "/internal/products": {"get": operation("The catalog.", ok("Every product."))},
    "/internal/products/{sku}": {
        "put": operation(
            "Create or replace a product.",
            {**ok("The product."), **errors({"422": "A bad sku or body; `fields` names it."})},
            body=ProductBody,
        )
    },
    "/internal/payments": _listing(
        "Payments, newest first.",
        query("status"),
        query("order_id", _UUID),
        query("since", _TIME),
        query("until", _TIME),
        query("cursor"),
    ),
    "/internal/payments/{payment_id}": {
        "get": operation(
            "A payment with its IPN history and flags.",
            {**ok("The payment."), **errors({"404": "None."})},
        )
    },
    "/internal/ipns": _listing(
        "Logged IPNs, newest first.",
        query("order_id", _UUID),
        query("payment_id"),
        query("result"),
        query("signature_valid", {"enum": ["true", "false"]}),
        query("source", {"enum": ["ipn", "poll"]}, "`ipn`: NOWPayments called; `poll`: we asked."),
        query("since", _TIME),
        query("until", _TIME),
        query("before", {"type": "integer", "minimum": 0}),
    ),
    "/internal/ipns/{ipn_id}": {
        "get": operation(
            "One IPN or polled status, its raw body and its attempts.",
            {**ok("The IPN."), **errors({"404": "None."})},
        )
    },
    "/internal/ipns/{ipn_id}/replay": {
        "post": operation(
            "Put an IPN given up as `error` back in the queue (idempotent).",
            {
                **ok("The IPN; `replayed` false if it was already waiting."),
                **errors({"404": "None.", "409": "It was applied (`ipn_not_failed`)."}),
            },
        )
    },
    "/internal/flags": _listing(
        "Flags raised for admins, newest first.",
        query("kind"),
        query("order_id", _UUID),
        query("status", {"enum": list(FLAG_STATUSES)}),
        query("before", {"type": "integer", "minimum": 0}),
    ),
    "/internal/flags/{flag_id}": {
        "get": operation(
            "A flag, its order's status and the decisions open to it.",
            {**ok("The flag."), **errors({"404": "None."})},
        )
    },
    **{
        f"/internal/flags/{{flag_id}}/{path}": {
            "post": operation(
                summary,
                {
                    **ok("The flag as resolved and the order's status."),
                    **errors(
                        {
                            "404": "No such flag.",
                            "409": "Already resolved (`flag_resolved`) or not allowed for "
                            f"this flag (`cannot_{decision}`).",
                        }
                    ),
                },
                body=DecisionBody,
                body_errors={
                    **BODY_ERRORS,
                    "422": "A bad body, or no note to dismiss with (`note_required`).",
                },
            )
        }
        for path, decision, summary in (
            ("accept", "accept", "Accept the payment: the order is paid and fulfilled, once."),
            ("refund-due", "refund_due", "The flagged money is owed back: a refund is due."),
            ("dismiss", "dismiss", "Nothing to do; the note says why."),
        )
    },
    "/internal/refunds": _listing(
        "Refunds, newest first.",
        query("order_id", _UUID),
        query("status", {"enum": list(get_args(RefundStatus))}),
        query("before", {"type": "integer", "minimum": 0}),
    ),
    "/internal/refunds/{refund_id}": {
        "get": operation(
            "A refund (every field, its customer status) and its payouts.",
            {**ok("The refund."), **errors({"404": "No such refund (`not_found`)."})},
        )
    },
    **{
        f"/internal/refunds/{{refund_id}}/{path}": {
            "post": operation(
                summary,
                {
                    **ok("The refund as decided."),
                    **errors({"404": "No such refund (`not_found`).", "409": conflict}),
                },
                body=RefundDecisionBody,
                body_errors={
                    **BODY_ERRORS,
                    "400": "Malformed JSON, or no note where one is required (`note_required`).",
                },
            )
        }
        for path, summary, conflict in (
            (
                "approve",
                "Approve a claimed refund (or one whose payout failed) for the payout runner.",
                "Not claimed, nor failed (`not_claimed`).",
            ),
            (
                "reject",
                "Reject a refund not yet paid out; the note says why.",
                "Not due, claimed or failed (`refund_closed`).",
            ),
            (
                "refunded-outside",
                "Record the money as refunded outside BitLoot; the note says how.",
                "Sending, sent or closed (`refund_closed`).",
            ),
        )
    },
    "/internal/stats": {
        "get": operation(
            "What the admin's home page counts: per hour since `since` (hours with nothing "
            "left out), orders placed, paid and failed (payment failed or expired) and "
            "refunds falling due; and now, open flags and refunds owed (count, newest 20).",
            {
                **ok("The figures."),
                **errors(
                    {
                        "422": "`since` is missing, not a time with zone, in the future or "
                        "more than 31 days ago (`invalid_since`)."
                    }
                ),
            },
            parameters=[query("since", _TIME, description="Count from this time (required).")],
        )
    },
    **CLAIM_PATHS,
}


def describe() -> dict[str, Any]:
    """The payments service's OpenAPI document."""
    return describe_api(
        "BitLoot payments API",
        PATHS,
        security_schemes={
            "orderToken": ORDER_TOKEN_SCHEME,
            "orderTokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
            "nowpaymentsSignature": {"type": "apiKey", "in": "header", "name": "x-nowpayments-sig"},
        },
    )
