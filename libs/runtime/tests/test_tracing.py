import re

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
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
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


def test_a_later_version_is_read_for_the_fields_it_shares_with_00() -> None:
    parsed = parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more")
    assert parsed is not None
    assert str(parsed) == VALID


def test_new_traceparent_is_version_00_and_sampled() -> None:
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", new_traceparent())


def test_child_keeps_the_parents_flags() -> None:
    unsampled = VALID[:-2] + "00"
    assert child_traceparent(unsampled).endswith("-00")


def test_trace_id_of_an_invalid_header_is_none() -> None:
    assert trace_id_of("garbage") is None
    assert trace_id_of(VALID) == "4bf92f3577b34da6a3ce929d0e0e4736"
