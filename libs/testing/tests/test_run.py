"""The run's identity token."""

import re

from bitloot_testing.run import new_run_id


def test_run_id_is_t_and_eight_hex_digits_and_differs_between_runs(run_id: str) -> None:
    assert re.fullmatch(r"t[0-9a-f]{8}", run_id)
    assert len({run_id, *(new_run_id() for _ in range(100))}) == 101
