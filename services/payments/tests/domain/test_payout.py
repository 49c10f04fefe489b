from decimal import Decimal

import pytest

from bitloot_payments.domain.payout import (
    advances,
    external_id,
    payout_amount,
    refund_status_after,
)


def test_the_first_attempt_carries_the_refund_id_and_later_ones_their_number() -> None:
    assert [external_id(42, attempt) for attempt in (1, 2, 3)] == [
        "refund-42",
        "refund-42-2",
        "refund-42-3",
    ]


@pytest.mark.parametrize(
    ("current", "reported", "moves"),
    [
        ("requesting", "creating", True),
        ("creating", "waiting", True),
        ("waiting", "finished", True),
        ("sending", "processing", False),
        ("finished", "failed", False),
        ("failed", "finished", False),
        ("refused", "waiting", False),
        ("waiting", "waiting", False),
        ("waiting", "cancelled", False),
    ],
)
def test_a_payout_only_moves_forward_and_never_out_of_a_final_status(
    current: str, reported: str, moves: bool
) -> None:
    assert advances(current, reported) is moves


@pytest.mark.parametrize(
    ("status", "refund"),
    [("finished", "sent"), ("failed", "failed"), ("rejected", "failed"), ("refused", "failed")]
    + [(s, None) for s in ("requesting", "creating", "waiting", "processing", "sending")],
)
def test_only_a_final_payout_settles_the_refund(status: str, refund: str | None) -> None:
    assert refund_status_after(status) == refund


def test_an_amount_is_cut_to_six_decimals_never_rounded_up() -> None:
    assert payout_amount(Decimal("25.123456789")) == Decimal("25.123456")
    assert payout_amount(Decimal("0.0000009")) == Decimal("0.000000")
    assert payout_amount(Decimal("12.5")) == Decimal("12.5")
