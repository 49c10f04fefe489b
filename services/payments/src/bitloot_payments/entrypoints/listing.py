"""How the internal listings page, on the runtime's `paging`: one ordered by time by a
cursor naming the (created_at, id) of the last row, so that rows created in the same
microsecond are neither skipped nor repeated; one ordered by id by ``before``, the
last id of the page before (its ``next``)."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, ClassVar, Generic, TypeVar

from pydantic import BaseModel, Field

from bitloot_runtime.http import DIGITS, MAX_BIGINT, HttpError, QueryModel, Whole
from bitloot_runtime.paging import MAX_PAGE, PageQuery, encode_cursor

ItemT = TypeVar("ItemT")
IdT = TypeVar("IdT")


def time_cursor(created_at: datetime, row_id: str) -> str:
    """The cursor of a page of a listing by time that ends at (`created_at`, `row_id`)."""
    return encode_cursor(created_at.isoformat(), row_id)


class TimePageQuery(PageQuery):
    """A listing by time, newest first: `limit` and the `cursor` of `time_cursor`."""

    def after(self, row_id: Callable[[str], IdT]) -> tuple[datetime, IdT] | None:
        """The (created_at, `row_id`) the cursor names; None without one."""
        if self.cursor is None:
            return None
        try:
            moment, last = self.cursor
            created_at = datetime.fromisoformat(str(moment))
            if created_at.tzinfo is not None and isinstance(last, str):
                return created_at, row_id(last)
        except ValueError:
            pass
        raise HttpError(422, "invalid_cursor", "cursor is not one this API returned.")


class IdPageQuery(QueryModel):
    """A listing by id, newest first: `limit`, and `before` the ``next`` of the page read."""

    own_codes: ClassVar[frozenset[str]] = frozenset({"limit", "before"})

    limit: Whole = Field(50, ge=1, le=MAX_PAGE, description="Page size.")
    before: Annotated[int, Field(le=MAX_BIGINT), DIGITS] | None = Field(
        None, description="Only ids below this one."
    )


class IdPage(BaseModel, Generic[ItemT]):
    """A page of a listing by id and the `before` of the next one."""

    items: list[ItemT]
    next: int | None = Field(description="The `before` of the next page; null on the last.")

    @classmethod
    def of(cls, items: list[ItemT], ids: list[int], limit: int) -> "IdPage[ItemT]":
        return cls(items=items, next=ids[-1] if len(ids) == limit else None)
