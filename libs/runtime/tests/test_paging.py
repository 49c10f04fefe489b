"""One page envelope: an opaque cursor from each full page, read back by `PageQuery`;
a bad cursor or limit is a 422 naming it."""

import pytest
from starlette.requests import Request

from bitloot_runtime.http import HttpError, parse_query
from bitloot_runtime.paging import PageQuery, encode_cursor, offset_page


def query_of(text: str) -> PageQuery:
    return parse_query(PageQuery, Request({"type": "http", "query_string": text.encode()}))


def test_pages_chained_by_their_cursors_lose_and_repeat_no_row() -> None:
    rows, seen = list(range(7)), []
    text: str | None = "limit=3"
    while text is not None:
        query = query_of(text)
        page = offset_page(rows[query.offset() : query.offset() + query.limit], query)
        assert len(page.items) <= 3
        seen += page.items
        text = f"limit=3&cursor={page.next}" if page.next else None
    assert seen == rows


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("cursor=-1", "invalid_cursor"),
        (f"cursor={encode_cursor('x')}", "invalid_cursor"),
        (f"cursor={encode_cursor(-5)}", "invalid_cursor"),
        ("cursor=" + "A" * 600, "invalid_cursor"),
        ("limit=0", "invalid_limit"),
        ("limit=101", "invalid_limit"),
        ("offset=50", "invalid_offset"),
    ],
)
def test_a_cursor_not_ours_or_a_limit_out_of_range_is_a_422(text: str, code: str) -> None:
    with pytest.raises(HttpError) as refused:
        query_of(text).offset()
    assert (refused.value.status, refused.value.code) == (422, code)
    assert refused.value.fields or code == "invalid_cursor"
