from typing import get_args

from bitloot_contracts.customer import (
    CustomerStatus,
    customer_status_of_order,
    customer_status_of_refund,
    customer_status_of_saga,
)
from bitloot_contracts.events import OrderState, RefundStatus


def test_every_saga_state_means_something_to_the_customer() -> None:
    told = {state: customer_status_of_saga(state) for state in get_args(OrderState)}
    assert set(told.values()) <= set(get_args(CustomerStatus))
    assert told["fulfilled"] == "delivered"
    assert {told[s] for s in ("reserving", "reserved", "keys_requested", "delivering")} == {
        "delivering"
    }
    assert customer_status_of_saga(None) is None


def test_every_refund_status_means_something_or_hands_back_to_the_saga() -> None:
    told = {status: customer_status_of_refund(status) for status in get_args(RefundStatus)}
    assert set(told.values()) - {None} <= set(get_args(CustomerStatus))
    assert (told["due"], told["claimed"], told["sent"], told["failed"]) == (
        "refund_due",
        "refund_claimed",
        "refunded",
        "refund_failed",
    )
    assert told["canceled"] is None


def test_a_refund_speaks_for_the_order_over_the_saga() -> None:
    assert customer_status_of_order("failed", None) == "failed"
    assert customer_status_of_order("failed", "due") == "refund_due"
    assert customer_status_of_order("fulfilled", "sent") == "refunded"
    # Fulfilled after all: the canceled refund no longer speaks.
    assert customer_status_of_order("fulfilled", "canceled") == "delivered"


def test_an_unconfirmed_key_email_is_not_called_delivered() -> None:
    assert customer_status_of_order("fulfilled", None, email_confirmed=False) == "keys_ready"
    assert customer_status_of_order("delivering", None, email_confirmed=False) == "delivering"
    assert customer_status_of_order("fulfilled", None) == "delivered"
