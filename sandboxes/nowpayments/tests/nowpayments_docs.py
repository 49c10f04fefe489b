"""NOWPayments' documented payout shapes, transcribed from the "Mass payouts" section and
the "Webhooks Examples" (Withdrawals) of its API documentation (the public Postman
collection "NOWPayments API", documenter.getpostman.com/view/7907941/2s93JusNJt).

Transcription rules (types as in `bitloot_sandbox_common.documented`):

- A field is required when the examples show it; ``type?`` where an example shows null.
- Amounts in answers are strings (``"amount": "0.1"``), in requests numbers.
- The create answer's example writes its first withdrawal in snake_case and the next two
  in camelCase (``createdAt``, ``requestedAt``, ``updatedAt``); the status answer, the
  list and the IPN example all use snake_case, so that is what is transcribed.
- The docs list the statuses in lower case; every example writes them in capitals.
"""

from bitloot_sandbox_common.documented import Field, Shape, optional

# "Create payout": "Here is the list of the available payout statuses".
PAYOUT_STATUSES = frozenset(
    {"creating", "waiting", "processing", "sending", "finished", "failed", "rejected"}
)

# "Authentication": request and answer.
AUTH_REQUEST: Shape = {"email": Field("string"), "password": Field("string")}
AUTH_ANSWER: Shape = {"token": Field("string")}

# "Get balance": one of these per currency ticker.
BALANCE_ENTRY: Shape = {"amount": Field("float"), "pendingAmount": Field("float")}

# "Create payout", the description of the request fields.
WITHDRAWAL_REQUEST: Shape = {
    "address": Field("string"),
    "currency": Field("string"),
    "amount": Field("float"),
    "extra_id": optional("string?"),
    "ipn_callback_url": optional("string"),
    "payout_description": optional("string"),
    "unique_external_id": optional("string"),
    "fiat_amount": optional("float"),
    "fiat_currency": optional("string"),
}
CREATE_REQUEST: Shape = {
    "ipn_callback_url": optional("string"),
    "payout_description": optional("string"),
    "withdrawals": Field("object[]", shape=WITHDRAWAL_REQUEST),
}

# "Create payout" (first withdrawal of the example answer), "Get payout status", "List of
# payouts": the withdrawal object.
WITHDRAWAL: Shape = {
    "id": Field("string"),
    "address": Field("string"),
    "currency": Field("string"),
    "amount": Field("string"),
    "batch_withdrawal_id": Field("string"),
    "ipn_callback_url": Field("string?"),
    "status": Field("string"),
    "extra_id": Field("string?"),
    "hash": Field("string?"),
    "error": Field("string?"),
    "is_request_payouts": Field("bool"),
    "payout_description": Field("string?"),
    "unique_external_id": Field("string?"),
    "created_at": Field("string"),
    "requested_at": Field("string?"),
    "updated_at": Field("string?"),
}
CREATE_ANSWER: Shape = {"id": Field("string"), "withdrawals": Field("object[]", shape=WITHDRAWAL)}
# "List of payouts".
LIST_ANSWER: Shape = {"payouts": Field("object[]", shape=WITHDRAWAL)}
LIST_PARAMETERS = frozenset(
    {"batch_id", "status", "order_by", "order", "date_from", "date_to", "limit", "page"}
)
LIST_ORDER_BY = frozenset(
    {"id", "batchId", "dateCreated", "dateRequested", "dateUpdated", "currency", "status"}
)

# "Verify payout": the request; the answer is the text ``OK``.
VERIFY_REQUEST: Shape = {"verification_code": Field("string")}

# "Webhooks Examples", Withdrawals.
PAYOUT_IPN: Shape = {
    "id": Field("string"),
    "batch_withdrawal_id": Field("string"),
    "status": Field("string"),
    "error": Field("string?"),
    "currency": Field("string"),
    "amount": Field("string"),
    "address": Field("string"),
    "fee": Field("any"),
    "extra_id": Field("string?"),
    "hash": Field("string?"),
    "ipn_callback_url": Field("string?"),
    "created_at": Field("string"),
    "requested_at": Field("string?"),
    "updated_at": Field("string?"),
}

# "Validate address", the 400 example: NOWPayments' error body.
ERROR: Shape = {
    "status": Field("bool"),
    "statusCode": Field("int"),
    "code": Field("string"),
    "message": Field("string"),
}
