"""Query parameters of the internal listings: offset paging and typed filters."""

from typing import Any
from uuid import UUID

from starlette.requests import Request

from bitloot_runtime.http import HttpError, whole_number


def page_offset(request: Request) -> int:
    """The ``offset`` query parameter, 0 or more; 422 otherwise."""
    raw = request.query_params.get("offset", "0")
    offset = whole_number(raw)
    if offset is None:
        raise _invalid("offset", f"offset must be a whole number, not {raw!r}.")
    return offset


def page(items: list[dict[str, Any]], limit: int, offset: int) -> dict[str, Any]:
    """A page of `items` and where the next one starts (None: this was the last)."""
    more = len(items) == limit
    return {
        "items": items,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if more else None,
    }


def uuid_param(request: Request, name: str) -> UUID | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise _invalid(name, f"{name} must be a UUID, not {raw!r}.") from None


def bool_param(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise _invalid(name, f"{name} must be true or false, not {raw!r}.")
    return raw == "true"


def choice_param(request: Request, name: str, choices: frozenset[str]) -> str | None:
    raw = request.query_params.get(name)
    if raw is not None and raw not in choices:
        raise _invalid(name, f"{name} must be one of {sorted(choices)}, not {raw!r}.")
    return raw


def _invalid(name: str, detail: str) -> HttpError:
    field = {"field": name, "code": "invalid", "error": detail}
    return HttpError(422, "invalid_filter", detail, [field])
