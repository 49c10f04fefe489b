import pytest

from bitloot_runtime.tracing import (
    child_traceparent,
    new_traceparent,
    parse_traceparent,
    trace_id_of,
)

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_valid_traceparent_is_parsed() -> None:
    parsed = parse_traceparent(VALID)
    assert parsed is not None
    assert (parsed.trace_id, parsed.parent_id, parsed.flags) == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
        "01",
    )


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    ],
)
def test_malformed_traceparent_is_rejected(value: str | None) -> None:
    assert parse_traceparent(value) is None


def test_child_keeps_the_trace_and_gets_a_new_span() -> None:
    child = child_traceparent(VALID)
    assert trace_id_of(child) == trace_id_of(VALID)
    assert child != VALID


def test_child_of_nothing_starts_a_new_valid_trace() -> None:
    assert parse_traceparent(child_traceparent(None)) is not None
    assert trace_id_of(new_traceparent()) != trace_id_of(new_traceparent())
