"""Page cursors of the internal API: opaque strings naming the last row of a page.

A listing ordered by time pages on (created_at, id), not on time alone: rows created in
the same microsecond are then neither skipped nor repeated across pages.
"""

import base64
import binascii
from datetime import datetime

from starlette.requests import Request

from bitloot_runtime.http import HttpError, whole_number


def encode(created_at: datetime, row_id: str) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(request: Request, name: str = "cursor") -> tuple[datetime, str] | None:
    """The (created_at, id) named by query parameter `name`; 422 if it is not one of ours."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        moment, row_id = text.split("|", 1)
        created_at = datetime.fromisoformat(moment)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        created_at, row_id = None, ""
    if created_at is None or created_at.tzinfo is None or not row_id:
        raise HttpError(422, "invalid_cursor", f"{name} is not a cursor this API returned.")
    return created_at, row_id


def moment(request: Request, name: str) -> datetime | None:
    """Query parameter `name` as an ISO-8601 time with a zone; 422 otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise HttpError(
            422, f"invalid_{name}", f"{name} must be an ISO-8601 time with zone: {raw!r}"
        )
    return value


def row_id(request: Request, name: str = "before") -> int | None:
    """Query parameter `name` as a positive row id (for listings paged by id); 422 otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    found = whole_number(raw)
    if found is None:
        raise HttpError(422, f"invalid_{name}", f"{name} must be a row id, not {raw!r}.")
    return found
