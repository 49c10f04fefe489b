"""The stand-ins' refunds: payments' refund API (one refund with its payouts, approve,
reject, refunded outside BitLoot) and delivery's revoke and notice-resend API, answering
as REFUNDS.md's "Internal HTTP APIs" says, with the same refusals."""

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from admin_flags_support import at
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bitloot_contracts.customer import customer_status_of_refund
from bitloot_contracts.events.refund import RefundStatus
from bitloot_runtime.idempotency import Endpoint

# The statuses each decision is taken in, and the status it leads to (payments' rules).
OPEN_TO: dict[str, tuple[set[str], RefundStatus, str]] = {
    "approve": ({"claimed", "failed"}, "approved", "not_claimed"),
    "reject": ({"due", "claimed", "failed"}, "rejected", "refund_closed"),
    "refunded-outside": (
        {"due", "claimed", "approved", "failed"},
        "refunded_outside",
        "refund_closed",
    ),
}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    document = json.loads(raw) if raw else {}
    assert isinstance(document, dict)
    return document


@dataclass
class PaymentsRefunds:
    """Payments' refunds: `refunds` is the list the flags stand-in lists (and adds to on
    *refund due*), so that both tell of the same refunds."""

    refunds: list[dict[str, Any]]
    payouts: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, order_id: UUID, status: str = "claimed", **extra: Any) -> int:
        refund_id = max((int(r["id"]) for r in self.refunds), default=100) + 1
        refund = {
            "id": refund_id,
            "order_id": str(order_id),
            "status": status,
            "reason": "order_failed",
            "cause": "reservation",
            "amount": "25.1",
            "currency": "usdttrc20",
            "payout_address": "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf",
            "payout_extra_id": None,
            "claimed_at": at(30) if status != "due" else None,
            "decided_by": None,
            "decided_at": None,
            "decision_note": None,
            "transaction_id": None,
            "error": None,
            "created_at": at(10),
            "updated_at": at(30),
            "flag_id": None,
            "payment_id": "5077125051",
            "requested_by": "payments",
            "note": None,
            **extra,
        }
        refund["customer_status"] = customer_status_of_refund(refund["status"])
        self.refunds.append(refund)
        return refund_id

    def of_order(self, order_id: str) -> list[dict[str, Any]]:
        return [r for r in self.refunds if r["order_id"] == order_id]

    def routes(self) -> list[tuple[str, str, Endpoint]]:
        return [
            ("GET", "/internal/refunds/{refund_id}", self._refund),
            *(
                ("POST", f"/internal/refunds/{{refund_id}}/{name}", self._decide(name))
                for name in OPEN_TO
            ),
        ]

    def _find(self, request: Request) -> dict[str, Any] | None:
        raw = str(request.path_params["refund_id"])
        wanted = int(raw) if raw.isascii() and raw.isdigit() else None
        return next((r for r in self.refunds if r["id"] == wanted), None)

    async def _refund(self, request: Request) -> Response:
        refund = self._find(request)
        if refund is None:
            return _error(404, "not_found", "No such refund.")
        return JSONResponse({**refund, "payouts": self.payouts.get(refund["id"], [])})

    def _decide(self, name: str) -> Endpoint:
        async def decide(request: Request) -> Response:
            body = await _body(request)
            note = body.get("note")
            if name != "approve" and not (note and note.strip()):
                return _error(400, "note_required", "Say why.")
            refund = self._find(request)
            if refund is None:
                return _error(404, "not_found", "No such refund.")
            allowed, then, refused = OPEN_TO[name]
            if refund["status"] not in allowed:
                return _error(409, refused, f"The refund is {refund['status']}.")
            refund.update(
                status=then,
                customer_status=customer_status_of_refund(then),
                decided_by=body.get("actor"),
                decided_at=at(95),
                decision_note=note,
                updated_at=at(95),
            )
            if name == "refunded-outside":
                refund["transaction_id"] = body.get("transaction_id")
            return JSONResponse(refund)

        return decide


@dataclass
class DeliveryRefunds:
    """Delivery's keys and notices of each order: which orders hold keys (and how many),
    which had one revealed, which were revoked, and the notices sent to each."""

    keys: dict[str, int] = field(default_factory=dict)
    revealed: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)
    notices: dict[str, set[str]] = field(default_factory=dict)
    resent: list[tuple[str, str]] = field(default_factory=list)
    # Each order's email log, as `GET /internal/orders/{id}/emails` answers it.
    emails: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def routes(self) -> list[tuple[str, str, Endpoint]]:
        return [
            ("GET", "/internal/orders/{order_id}/emails", self._emails),
            ("POST", "/internal/orders/{order_id}/revoke", self._revoke),
            ("POST", "/internal/orders/{order_id}/notices/resend", self._resend),
        ]

    async def _emails(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        return JSONResponse({"order_id": order_id, "emails": self.emails.get(order_id, [])})

    async def _revoke(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        if order_id not in self.keys:
            return _error(404, "no_keys", "Delivery holds no keys for this order.")
        if order_id in self.revoked:
            return _error(409, "already_revoked", "The keys were already revoked.")
        if order_id in self.revealed:
            return _error(409, "keys_revealed", "A key of this order was revealed.")
        self.revoked.add(order_id)
        body = {"order_id": order_id, "key_count": self.keys[order_id], "revoked_at": at(99)}
        return JSONResponse(body)

    async def _resend(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        kind = (await _body(request)).get("kind")
        if kind not in self.notices.get(order_id, set()):
            return _error(404, "no_such_notice", f"No {kind} notice was sent for this order.")
        self.resent.append((order_id, str(kind)))
        return JSONResponse({"email_id": 500 + len(self.resent)}, status_code=202)
