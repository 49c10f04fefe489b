"""The payments stand-in's flags, refunds and single IPNs, answering as payments' internal
API does: ``GET /internal/flags`` and ``/internal/flags/{id}``, the three decisions, the
refunds listing, ``GET /internal/ipns/{id}`` and its replay, with the same refusals."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bitloot_runtime.idempotency import Endpoint

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RESOLVED_AS = {"accept": "accepted", "refund-due": "refund_due", "dismiss": "dismissed"}
MAX_NOTE = 2000


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def refusal(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail, "fields": []}, status_code=status)


def _actor(request: Request) -> str:
    return "admin:" + (request.headers.get("x-bitloot-actor") or "unknown")


def _row_id(request: Request, name: str) -> int | None:
    raw = str(request.path_params[name])
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _page(items: list[dict[str, Any]], request: Request, **wanted: str | None) -> Response:
    """Newest first, filtered by each of `wanted` that the query names, paged by ``before``."""
    query = request.query_params
    chosen = {name: query[name] for name in wanted if name in query}
    found = [i for i in items if all(str(i.get(k)) == v for k, v in chosen.items())]
    found.sort(key=lambda item: -int(item["id"]))
    if "before" in query:
        found = [i for i in found if int(i["id"]) < int(query["before"])]
    limit = int(query.get("limit", "50"))
    page = found[:limit]
    last = page[-1]["id"] if len(page) == limit else None
    return JSONResponse({"items": page, "next": last})


@dataclass
class PaymentsFlags:
    """What the payments stand-in holds of flags, refunds and IPNs. Each flag keeps the
    decisions payments would leave open to it (`decisions`) and its order's status."""

    flags: dict[int, dict[str, Any]] = field(default_factory=dict)
    open_to: dict[int, list[str]] = field(default_factory=dict)
    order_status: dict[int, str | None] = field(default_factory=dict)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    ipns: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add_flag(
        self,
        kind: str = "late_payment",
        order_id: UUID | None = None,
        decisions: tuple[str, ...] = ("accept", "refund-due", "dismiss"),
        order_status: str | None = "failed",
        **extra: Any,
    ) -> int:
        flag_id = len(self.flags) + 12
        self.flags[flag_id] = {
            "id": flag_id,
            "kind": kind,
            "detail": f"Payment 5077125051: {kind} (finished).",
            "order_id": str(order_id) if order_id else None,
            "payment_id": "5077125051",
            "ipn_id": 40,
            "data": {
                "price_amount": "25",
                "price_currency": "usd",
                "pay_amount": "25.1",
                "actually_paid": "25.1",
                "pay_currency": "usdttrc20",
                "payment_was": "finished",
            },
            "created_at": at(flag_id),
            "status": "open",
            "resolved_by": None,
            "resolved_at": None,
            "note": None,
            **extra,
        }
        self.open_to[flag_id] = [d.replace("-", "_") for d in decisions]
        self.order_status[flag_id] = order_status
        return flag_id

    def add_ipn(self, result: str = "error", **extra: Any) -> int:
        ipn_id = len(self.ipns) + 40
        self.ipns[ipn_id] = {
            "id": ipn_id,
            "received_at": at(1),
            "source": "ipn",
            "signature_valid": True,
            "payment_id": "5077125051",
            "order_id": None,
            "status": "finished",
            "duplicate": False,
            "result": result,
            "processed_at": None,
            "retries": 8,
            "last_error": "OperationalError: the database went away",
            "next_attempt_at": None,
            "replayed_by": None,
            "replayed_at": None,
            "raw_body": '{"payment_id":5077125051,"payment_status":"finished"}',
            **extra,
        }
        return ipn_id

    def routes(self) -> list[tuple[str, str, Endpoint]]:
        """(method, path, endpoint) of every route, for the stand-in to mount."""
        return [
            ("GET", "/internal/flags", self._flags),
            ("GET", "/internal/flags/{flag_id}", self._flag),
            *(
                ("POST", f"/internal/flags/{{flag_id}}/{name}", self._decide(name))
                for name in RESOLVED_AS
            ),
            ("GET", "/internal/refunds", self._refunds),
            ("GET", "/internal/ipns/{ipn_id}", self._ipn),
            ("POST", "/internal/ipns/{ipn_id}/replay", self._replay),
        ]

    async def _flags(self, request: Request) -> Response:
        return _page(list(self.flags.values()), request, kind=None, order_id=None, status=None)

    async def _flag(self, request: Request) -> Response:
        flag_id = _row_id(request, "flag_id")
        if flag_id is None or flag_id not in self.flags:
            return refusal(404, "flag_not_found", "No such flag.")
        flag = self.flags[flag_id]
        open_to = self.open_to[flag_id] if flag["status"] == "open" else []
        return JSONResponse(
            {
                **flag,
                "order_status": self.order_status[flag_id],
                "decisions": [d.replace("_", "-") for d in open_to],
                "refunds": [r for r in self.refunds if r["flag_id"] == flag_id],
            }
        )

    def _decide(self, name: str) -> Endpoint:
        async def decide(request: Request) -> Response:
            raw = await request.body()
            document = json.loads(raw) if raw else {}
            note = document.get("note")
            if note is not None and len(note) > MAX_NOTE:
                return refusal(422, "invalid_request", "The request is invalid.")
            if name == "dismiss" and not (note and note.strip()):
                return refusal(422, "note_required", "Say why the flag is dismissed.")
            flag_id = _row_id(request, "flag_id")
            if flag_id is None or flag_id not in self.flags:
                return refusal(404, "flag_not_found", f"No flag {flag_id}.")
            return self._resolve(flag_id, name, _actor(request), note)

        return decide

    def _resolve(self, flag_id: int, name: str, actor: str, note: str | None) -> Response:
        flag, decision = self.flags[flag_id], name.replace("-", "_")
        if flag["status"] != "open":
            detail = f"Flag {flag_id} was already {flag['status']} by {flag['resolved_by']}."
            return refusal(409, "flag_resolved", detail)
        if decision not in self.open_to[flag_id]:
            return refusal(409, f"cannot_{decision}", f"A {flag['kind']} flag cannot be that.")
        resolved = {"status": RESOLVED_AS[name], "resolved_by": actor, "resolved_at": at(90)}
        flag.update(resolved, note=note)
        refund_id = None
        if name == "accept":
            self.order_status[flag_id] = "paid"
        if name == "refund-due":
            refund_id = len(self.refunds) + 3
            self.refunds.append(self._refund(refund_id, flag, actor, note))
            if self.order_status[flag_id] != "paid":
                self.order_status[flag_id] = "refund_due"
        body = {"flag": flag, "order_status": self.order_status[flag_id], "refund_id": refund_id}
        return JSONResponse(body)

    @staticmethod
    def _refund(
        refund_id: int, flag: dict[str, Any], actor: str, note: str | None
    ) -> dict[str, Any]:
        return {
            "id": refund_id,
            "order_id": flag["order_id"],
            "payment_id": flag["payment_id"],
            "flag_id": flag["id"],
            "amount": flag["data"]["actually_paid"],
            "currency": flag["data"]["pay_currency"],
            "reason": flag["kind"],
            "status": "due",
            "requested_by": actor,
            "note": note,
            "created_at": at(90),
        }

    async def _refunds(self, request: Request) -> Response:
        return _page(self.refunds, request, order_id=None, status=None)

    async def _ipn(self, request: Request) -> Response:
        ipn_id = _row_id(request, "ipn_id")
        if ipn_id is None or ipn_id not in self.ipns:
            return refusal(404, "ipn_not_found", "No such IPN.")
        return JSONResponse(self.ipns[ipn_id])

    async def _replay(self, request: Request) -> Response:
        ipn_id = _row_id(request, "ipn_id")
        if ipn_id is None or ipn_id not in self.ipns:
            return refusal(404, "ipn_not_found", f"No IPN {ipn_id}.")
        ipn = self.ipns[ipn_id]
        if ipn["result"] == "pending":
            return JSONResponse({"ipn": _listed(ipn), "replayed": False})
        if ipn["result"] != "error":
            detail = f"IPN {ipn_id} was applied ({ipn['result']}); only one given up may be."
            return refusal(409, "ipn_not_failed", detail)
        ipn.update(result="pending", replayed_by=_actor(request), replayed_at=at(90))
        return JSONResponse({"ipn": _listed(ipn), "replayed": True})


def _listed(ipn: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in ipn.items() if name != "raw_body"}
