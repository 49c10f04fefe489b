"""How the internal listings page, on the runtime's `paging`: a listing ordered by time
pages by a cursor naming the (created_at, id) of the last row, so that rows created in
the same microsecond are neither skipped nor repeated; one ordered by id by ``before``,
the last id of the page before (``next``)."""

from datetime import datetime
from typing import Annotated, ClassVar, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

from bitloot_runtime.http import MAX_BIGINT, HttpError, QueryModel, Whole
from bitloot_runtime.paging import MAX_PAGE, PageQuery, encode_cursor

ItemT = TypeVar("ItemT")


def _iso(raw: object) -> object:
    # ISO 8601 only: pydantic alone would also read a number as a Unix time.
    return datetime.fromisoformat(raw) if isinstance(raw, str) else raw


IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso)]
"""A time query parameter: ISO 8601 with a zone."""


def time_cursor(created_at: datetime, row_id: str) -> str:
    """The cursor of a page of a listing by time that ends at (`created_at`, `row_id`)."""
    return encode_cursor(created_at.isoformat(), row_id)


class TimePageQuery(PageQuery):
    """A listing by time, newest first: `limit` and the `cursor` of `time_cursor`."""

    def after(self) -> tuple[datetime, str] | None:
        """The (created_at, id) the cursor names; None without one."""
        if self.cursor is None:
            return None
        match self.cursor:
            case [str(moment), str(row_id)] if row_id:
                try:
                    created_at = datetime.fromisoformat(moment)
                except ValueError:
                    pass
                else:
                    if created_at.tzinfo is not None:
                        return created_at, row_id
        raise HttpError(422, "invalid_cursor", "cursor is not one this API returned.")


class IdPageQuery(QueryModel):
    """A listing by id, newest first: `limit`, and `before` the ``next`` of the page read."""

    own_codes: ClassVar[frozenset[str]] = frozenset({"limit", "before"})

    limit: Whole = Field(50, ge=1, le=MAX_PAGE, description="Page size.")
    before: Whole | None = Field(None, le=MAX_BIGINT, description="Only ids below this one.")


class IdPage(BaseModel, Generic[ItemT]):
    """A page of a listing by id and the `before` of the next one."""

    items: list[ItemT]
    next: int | None = Field(description="The `before` of the next page; null on the last.")

    @classmethod
    def of(cls, items: list[ItemT], ids: list[int], limit: int) -> "IdPage[ItemT]":
        return cls(items=items, next=ids[-1] if len(ids) == limit else None)
