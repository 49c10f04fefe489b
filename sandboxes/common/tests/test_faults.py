from dataclasses import dataclass, field

import pytest
from pydantic import JsonValue

from bitloot_sandbox_common.faults import Faults, FaultsError


@dataclass
class StockFaults(Faults):
    out_of_stock: list[str] = field(default_factory=list)


def test_api_faults_count_down_rate_limits_first_then_failures() -> None:
    faults = Faults(rate_limit_next=1, fail_next=1)
    assert [faults.take_api_fault() for _ in range(3)] == [429, 503, None]


@pytest.mark.parametrize(
    "changes",
    [
        {"fail_next": True},  # a count is not a switch
        {"reorder_callbacks": 1},  # a switch is not a count
        {"fail_next": -1},
        {"out_of_stock": ["a", 2]},
        {"no_such_fault": 1},
    ],
)
def test_an_invalid_change_is_refused_and_changes_nothing(changes: dict[str, JsonValue]) -> None:
    faults = StockFaults()
    with pytest.raises(FaultsError):
        faults.update({"duplicate_callbacks": 2, **changes})
    assert faults == StockFaults()


def test_reset_turns_every_fault_off_including_a_subclass_s_own() -> None:
    faults = StockFaults(fail_next=3, reorder_callbacks=True, out_of_stock=["p1"])
    faults.reset()
    assert faults == StockFaults()
