from typing import get_args

from bitloot_contracts.customer import CustomerStatus, customer_status_of_saga
from bitloot_contracts.events import OrderState


def test_every_saga_state_means_something_to_the_customer() -> None:
    told = {state: customer_status_of_saga(state) for state in get_args(OrderState)}
    assert set(told.values()) <= set(get_args(CustomerStatus))
    assert told["fulfilled"] == "delivered"
    assert {told[s] for s in ("reserving", "reserved", "keys_requested", "delivering")} == {
        "delivering"
    }
    assert customer_status_of_saga(None) is None
