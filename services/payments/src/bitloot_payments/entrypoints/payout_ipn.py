"""``POST /payments/payout-ipn``: NOWPayments' payout IPNs (public, signed): 200 once
stored (or already stored), 401 for a bad signature, 400 for an unreadable body."""

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from bitloot_payments.entrypoints.edge import Edge
from bitloot_payments.entrypoints.public import Stored, signed_callback
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import answer
from bitloot_runtime.openapi import ApiRoute

PAYOUT_IPN_PATH = "/payments/payout-ipn"


class PayoutIpnBody(BaseModel):
    """NOWPayments' payout IPN: the withdrawal object, signed in `x-nowpayments-sig`
    like payment IPNs."""

    id: str
    batch_withdrawal_id: str | None = None
    status: str
    hash: str | None = None
    error: str | None = None
    amount: str
    currency: str


async def payout_ipn(request: Request) -> Response:
    body, signature, client = await signed_callback(request)
    await dependencies(request, Edge).payout_receiver.receive(body, signature, client)
    return answer(Stored())


ROUTES = [
    ApiRoute(
        PAYOUT_IPN_PATH,
        payout_ipn,
        method="POST",
        summary="NOWPayments' payout IPN (a refund's payout moved): logged once, then applied "
        "in the background. An authentic body received again is answered and not stored.",
        success="Stored, or already stored.",
        response=Stored,
        body=PayoutIpnBody,
        security=[{"nowpaymentsSignature": []}],
        body_errors={
            "400": "Not valid JSON (`malformed_json`), a key given twice "
            "(`duplicate_json_key`), not an object (`not_an_object`), not a payout "
            "(`not_a_payout`).",
            "401": "The signature is missing or wrong (`invalid_signature`).",
            "413": "Larger than 64 KiB (`body_too_large`).",
        },
    )
]
