"""NOWPayments' payouts as refunds use them: ``POST /v1/payout`` (``x-api-key`` and a
bearer JWT), ``POST /v1/payout/{id}/verify`` with the account's 2FA (TOTP) code,
``GET /v1/payout/{id}`` and ``GET /v1/payout`` (the list).

Creating a payout moves money, so its outcome is classified strictly: a 4xx answer
(other than 401, after which the token is renewed and the call made once more, and 429,
after which it waits and asks again: both refuse before anything is done) means surely
not created, `PayoutRefused` with NOWPayments' code and message; a timeout, a 5xx or a
lost connection means unknown, `PayoutUncertain`, and it is never retried here: asking
again could pay twice, since NOWPayments documents no refusal of a reused
``unique_external_id``. Whoever gets `PayoutUncertain` must `find` the payout by our id
before anything else.

NOWPayments offers no lookup by ``unique_external_id``: `find` pages through the list,
newest first, from the time our payout row was written, and matches it. Reads are
retried like `NowPaymentsClient`'s; once the retries run out they raise
`PayoutUncertain` too (nothing is known).

A payout is processed only once verified: with the 2FA secret configured each new payout
is verified at once; without it, someone must verify it in NOWPayments' dashboard (the
code then goes by email).
"""

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pyotp
from pydantic import JsonValue

from bitloot_payments.adapters.nowpayments import (
    DEFAULT_TIMEOUT,
    NowPaymentsClient,
    NowPaymentsRejected,
    NowPaymentsUnavailable,
    RetryPolicy,
)
from bitloot_runtime.errors import PermanentError, TransientError

logger = logging.getLogger(__name__)

# Documented: the amount "Must not exceed 6 decimals".
MAX_DECIMALS = 6
PAGE_SIZE = 100
# Refunds are few; a payout is looked for among this many of the newest.
MAX_PAGES = 20
# Clocks differ: the list is read from a little before our row was written.
CLOCK_SLACK = timedelta(minutes=10)


class PayoutRefused(PermanentError):
    """NOWPayments refused the call (4xx, or an answer we cannot use): the payout surely
    was not created. `code` and `message` are NOWPayments' own when it gave them."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(code, message)
        self.status = status


class PayoutUncertain(TransientError):
    """No usable answer (timeout, 5xx, connection lost): the call may have been carried
    out. Look the payout up by our id before anything else."""


@dataclass(frozen=True)
class PayoutRequest:
    """One payout to ask for; `unique_external_id` is ours (``refund-<id>``, ...)."""

    unique_external_id: str
    address: str
    extra_id: str | None
    currency: str
    amount: Decimal
    ipn_callback_url: str | None


@dataclass(frozen=True)
class Payout:
    """A payout as NOWPayments reports it; `id` is the withdrawal's, `batch_id` the
    "payout id" verify and status take; `status` lower case (documented so; the answers
    write capitals)."""

    id: str
    batch_id: str | None
    unique_external_id: str | None
    status: str
    hash: str | None
    error: str | None
    amount: Decimal
    currency: str

    @classmethod
    def from_json(cls, document: object) -> "Payout":
        """A withdrawal object (create, status, list, IPN); `PayoutRefused` if it lacks
        what we need."""
        if not isinstance(document, dict):
            raise PayoutRefused("bad_response", "A payout is not a JSON object.")
        try:
            return cls(
                id=str(_text(document, "id")),
                batch_id=_optional(document, "batch_withdrawal_id"),
                unique_external_id=_optional(document, "unique_external_id"),
                status=str(_text(document, "status")).lower(),
                hash=_optional(document, "hash"),
                error=_optional(document, "error"),
                amount=Decimal(str(_text(document, "amount"))),
                currency=str(_text(document, "currency")).lower(),
            )
        except ArithmeticError:
            raise PayoutRefused("bad_response", "A payout's amount is not a number.") from None


def _text(document: dict[str, JsonValue], name: str) -> str | int | float | Decimal:
    value = document.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal) or value == "":
        raise PayoutRefused("bad_response", f"A payout has no {name}.")
    return value


def _optional(document: dict[str, JsonValue], name: str) -> str | None:
    value = document.get(name)
    return None if value is None or value == "" else str(value)


def _body(req: PayoutRequest) -> bytes:
    """The create body; the amount a JSON number written digit for digit."""
    if -req.amount.normalize().as_tuple().exponent > MAX_DECIMALS:  # type: ignore[operator]
        raise ValueError(f"Payout amount {req.amount} has more than {MAX_DECIMALS} decimals.")
    withdrawal = {
        "address": req.address,
        "currency": req.currency,
        "unique_external_id": req.unique_external_id,
        **({"extra_id": req.extra_id} if req.extra_id else {}),
        **({"ipn_callback_url": req.ipn_callback_url} if req.ipn_callback_url else {}),
    }
    rest = json.dumps(withdrawal, separators=(",", ":"))
    amount = format(req.amount.normalize(), "f")
    return ('{"withdrawals":[{"amount":' + amount + "," + rest[1:] + "]}").encode()


class NowPaymentsPayouts:
    """Creates, verifies and reads payouts through `nowpayments`, whose tokens (and HTTP
    client) it uses."""

    def __init__(
        self,
        nowpayments: NowPaymentsClient,
        *,
        two_fa_secret: str | None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._nowpayments = nowpayments
        self._totp = pyotp.TOTP(two_fa_secret) if two_fa_secret else None
        self._timeout = timeout
        self._retry = retry or RetryPolicy()

    async def create(self, req: PayoutRequest) -> Payout:
        """Ask for the payout once, then verify it (when the 2FA secret is configured).
        `PayoutRefused`: surely not created; `PayoutUncertain`: unknown."""
        document = await self._create(_body(req))
        withdrawals = document.get("withdrawals") if isinstance(document, dict) else None
        if not isinstance(withdrawals, list) or len(withdrawals) != 1:
            raise PayoutUncertain("The create answer has no single withdrawal.")
        payout = Payout.from_json(withdrawals[0])
        logger.info(
            "payout created",
            extra={"payout_id": payout.id, "unique_external_id": req.unique_external_id},
        )
        try:
            return await self.verify(payout)
        except (PayoutRefused, PayoutUncertain) as exc:
            # The payout exists whatever became of its verification: it is verified again
            # when next looked at (`verify` on a payout still creating).
            logger.warning(
                "payout not verified yet", extra={"payout_id": payout.id, "error": str(exc)}
            )
            return payout

    async def verify(self, payout: Payout) -> Payout:
        """Verify `payout` with the current 2FA code if it still waits for that (status
        creating); the payout as it then stands. Without the secret it is left as it is."""
        if self._totp is None or payout.status != "creating" or payout.batch_id is None:
            return payout
        body = json.dumps({"verification_code": self._totp.now()}).encode()
        await self._authorized("POST", f"/v1/payout/{payout.batch_id}/verify", body, retry=True)
        logger.info("payout verified", extra={"payout_id": payout.id})
        return await self.get(payout.batch_id)

    async def get(self, payout_id: str) -> Payout:
        """``GET /v1/payout/{payout_id}``: `payout_id` is NOWPayments' "payout id", the
        batch id (ours hold one withdrawal each)."""
        document = await self._read("GET", f"/v1/payout/{payout_id}", None)
        if not isinstance(document, list) or len(document) != 1:
            raise PayoutRefused("bad_response", f"Payout {payout_id} is not one withdrawal.")
        return Payout.from_json(document[0])

    async def find(
        self, unique_external_id: str, created_after: datetime | None = None
    ) -> Payout | None:
        """Our payout `unique_external_id`, if NOWPayments has it: the list, newest first
        (from a little before `created_after`), searched page by page. A live match is
        preferred to a failed or rejected one."""
        found: list[Payout] = []
        for page in range(MAX_PAGES):
            params = {"order_by": "dateCreated", "order": "desc", "limit": str(PAGE_SIZE)}
            params["page"] = str(page)
            if created_after is not None:
                params["date_from"] = (created_after - CLOCK_SLACK).isoformat()
            document = await self._read("GET", "/v1/payout", params)
            items = document.get("payouts") if isinstance(document, dict) else None
            if not isinstance(items, list):
                raise PayoutRefused("bad_response", "The payout list has no payouts.")
            found += [
                Payout.from_json(item)
                for item in items
                if isinstance(item, dict) and item.get("unique_external_id") == unique_external_id
            ]
            if len(items) < PAGE_SIZE:
                break
        if len(found) > 1:
            logger.warning(
                "several payouts carry one id",
                extra={"unique_external_id": unique_external_id, "count": len(found)},
            )
        live = [p for p in found if p.status not in ("failed", "rejected")]
        return (live or found)[0] if found else None

    async def _create(self, body: bytes) -> object:
        """``POST /v1/payout``; the refusals that come before anything is done (401, 429)
        are asked again; any other outcome is final here."""
        for attempt in range(1, self._retry.attempts + 1):
            try:
                return await self._authorized("POST", "/v1/payout", body, retry=False)
            except _RateLimited as limited:
                if attempt == self._retry.attempts:
                    raise PayoutUncertain("NOWPayments kept answering 429.") from None
                await asyncio.sleep(self._retry.delay(attempt, limited.retry_after))
        raise AssertionError("unreachable")

    async def _authorized(self, method: str, path: str, body: bytes, *, retry: bool) -> object:
        token = await self._token(refresh=False)
        try:
            return await self._send(method, path, body, None, token, retry=retry)
        except PayoutRefused as exc:
            if exc.status != 401:
                raise
        logger.info("NOWPayments token refused; authenticating again")
        token = await self._token(refresh=True)
        return await self._send(method, path, body, None, token, retry=retry)

    async def _token(self, *, refresh: bool) -> str:
        try:
            return await self._nowpayments.token(refresh=refresh)
        except NowPaymentsRejected as exc:
            raise PayoutRefused(exc.code, str(exc), exc.status) from None
        except NowPaymentsUnavailable as exc:
            raise PayoutUncertain(f"Authentication failed: {exc}") from None

    async def _read(self, method: str, path: str, params: dict[str, str] | None) -> object:
        return await self._send(method, path, None, params, None, retry=True)

    async def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        params: dict[str, str] | None,
        token: str | None,
        *,
        retry: bool,
    ) -> object:
        attempts = self._retry.attempts if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                return await self._once(method, path, body, params, token)
            except (PayoutUncertain, _RateLimited) as exc:
                if not retry:
                    raise
                if attempt == attempts:
                    raise PayoutUncertain(str(exc)) from None
                asked = exc.retry_after if isinstance(exc, _RateLimited) else None
                await asyncio.sleep(self._retry.delay(attempt, asked))
        raise AssertionError("unreachable")

    async def _once(
        self,
        method: str,
        path: str,
        body: bytes | None,
        params: dict[str, str] | None,
        token: str | None,
    ) -> object:
        name = _operation(method, path)
        try:
            response = await self._nowpayments.send(
                method, path, name, body, params, token, self._timeout
            )
        except httpx.TimeoutException:
            raise PayoutUncertain(f"{method} {path} timed out.") from None
        except httpx.TransportError as exc:
            raise PayoutUncertain(f"{method} {path} failed: {type(exc).__name__}.") from None
        return _answer(f"{method} {path}", response)


def _operation(method: str, path: str) -> str:
    """The call's name in the outbound metrics (a path carries the payout's id)."""
    if path.endswith("/verify"):
        return "verify_payout"
    if method == "POST":
        return "create_payout"
    return "list_payouts" if path == "/v1/payout" else "get_payout"


class _RateLimited(Exception):
    """429: NOWPayments refused before doing anything; ask again after `retry_after`."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("NOWPayments answered 429.")
        self.retry_after = retry_after


def _answer(call: str, response: httpx.Response) -> object:
    status = response.status_code
    if status == 429:
        raw = response.headers.get("retry-after", "")
        raise _RateLimited(float(raw) if raw.isdigit() else None)
    if status >= 500:
        raise PayoutUncertain(f"{call} answered {status}.")
    try:
        document: object = response.json()
    except ValueError:
        document = response.text
    if status >= 400:
        code, message = f"http_{status}", f"{call} answered {status}."
        if isinstance(document, dict):
            code = str(document.get("code") or code)
            message = str(document.get("message") or message)
        raise PayoutRefused(code, message, status)
    return document
