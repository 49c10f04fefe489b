"""One way to page a listing: ``?limit=`` and ``?cursor=`` in, ``{"items": [...],
"next": <cursor or null>}`` out.

A cursor is opaque to clients: they pass back the ``next`` of the page they read and
stop when it is null. Inside, it names where the page stopped as a short list of JSON
scalars (a listing ordered by time stores the last row's time and id; a listing read by
position stores the position), base64url-encoded so that it travels in a query string.

To page an endpoint: subclass `PageQuery` with its filters, read it with
`bitloot_runtime.http.parse_query`, fetch ``query.limit`` rows after ``query.cursor``,
and answer ``Page[ItemModel](items=..., next=...)``; `offset_page` does all of it for a
repository that reads by position.
"""

import base64
import binascii
import json
from typing import Annotated, ClassVar, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from bitloot_runtime.http import MAX_BIGINT, HttpError, QueryModel, Whole

ItemT = TypeVar("ItemT")
Position = list[str | int]
MAX_PAGE = 100
_MAX_CURSOR = 512


def encode_cursor(*position: str | int) -> str:
    """The cursor naming `position` (where the page stopped)."""
    raw = json.dumps(list(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(raw: object) -> object:
    if not isinstance(raw, str) or len(raw) > _MAX_CURSOR:
        raise ValueError("not a cursor this API returned")
    try:
        position = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise ValueError("not a cursor this API returned") from exc
    return position


Cursor = Annotated[
    Position,
    BeforeValidator(_decode),
    WithJsonSchema({"type": "string", "description": "The `next` of the previous page."}),
]


class PageQuery(QueryModel):
    """A listing's query: `limit` (1-100) and the `cursor` of the page to read; subclass
    it with the listing's filters (and another `limit` default if it needs one)."""

    own_codes: ClassVar[frozenset[str]] = frozenset({"limit", "cursor", "offset"})

    limit: Whole = Field(50, ge=1, le=MAX_PAGE, description="Page size.")
    cursor: Cursor | None = None
    # Listings were paged by `offset` before the cursor: a client still sending one is
    # refused rather than handed the first page again and again.
    stale_offset: None = Field(
        None,
        alias="offset",
        description="Not read: refused with `invalid_offset`; page with `cursor`.",
    )

    def offset(self) -> int:
        """The position a cursor of `offset_page` names (0 without a cursor)."""
        if self.cursor is None:
            return 0
        match self.cursor:
            case [int(offset)] if 0 <= offset <= MAX_BIGINT:
                return offset
        raise HttpError(422, "invalid_cursor", "cursor is not one this API returned.")


class Page(BaseModel, Generic[ItemT]):
    """A page of a listing and the cursor of the next one."""

    items: list[ItemT]
    next: str | None = Field(description="The `cursor` of the next page; null on the last.")


def offset_page(items: list[ItemT], query: PageQuery) -> Page[ItemT]:
    """`items`, read from `query.offset()` on, as a page: a full page has a next one."""
    more = len(items) == query.limit
    return Page(items=items, next=encode_cursor(query.offset() + query.limit) if more else None)
