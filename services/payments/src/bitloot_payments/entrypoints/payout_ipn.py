"""``POST /payments/payout-ipn``: NOWPayments' payout IPNs (public, signed)."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_payments.adapters.payout_ipn import BadPayoutIpn
from bitloot_payments.entrypoints.public import signed_callback
from bitloot_payments.handlers.receive_payout_ipn import PayoutIpnReceiver
from bitloot_runtime.http import HttpError

PAYOUT_IPN_PATH = "/payments/payout-ipn"


def payout_ipn_routes(receiver: PayoutIpnReceiver) -> list[Route]:
    """The payout IPN route: 200 once stored (or already stored), 401 for a bad
    signature, 400 for an unreadable body, each with a machine-readable `code`."""

    async def payout_ipn(request: Request) -> Response:
        body, signature, client = await signed_callback(request)
        try:
            await receiver.receive(body, signature, client)
        except BadPayoutIpn as exc:
            status = 401 if exc.code == "invalid_signature" else 400
            raise HttpError(status, exc.code, str(exc)) from None
        return JSONResponse({"status": "ok"})

    return [Route(PAYOUT_IPN_PATH, payout_ipn, methods=["POST"])]
