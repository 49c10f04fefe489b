"""W3C trace context (``traceparent``) for events and requests.

Format: ``00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>``, lower-case hex; all-zero
ids and version ``ff`` are invalid (W3C Trace Context, "traceparent Header").
"""

import re
import secrets
from dataclasses import dataclass

# Version 00 is exactly these four fields; a later version may append fields after a dash,
# and the spec asks parsers to read the four they know and ignore the rest.
_PATTERN = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_VERSION = "00"
_SAMPLED = "01"


@dataclass(frozen=True)
class TraceParent:
    """A parsed ``traceparent``; ``str()`` gives the version-00 header."""

    trace_id: str
    parent_id: str
    flags: str

    def __str__(self) -> str:
        return f"{_VERSION}-{self.trace_id}-{self.parent_id}-{self.flags}"


def parse_traceparent(value: str | None) -> TraceParent | None:
    """The parsed header, or None for anything malformed, all-zero ids or version ff."""
    if not value:
        return None
    match = _PATTERN.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, parent_id, flags, rest = match.groups()
    if version == "ff" or (version == _VERSION and rest is not None):
        return None
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return TraceParent(trace_id, parent_id, flags)


def new_traceparent() -> str:
    """The header of a new, sampled trace."""
    return str(TraceParent(secrets.token_hex(16), secrets.token_hex(8), _SAMPLED))


def child_traceparent(parent: str | None) -> str:
    """A new span in `parent`'s trace, or a new trace if `parent` is missing or invalid."""
    parsed = parse_traceparent(parent)
    if parsed is None:
        return new_traceparent()
    return str(TraceParent(parsed.trace_id, secrets.token_hex(8), parsed.flags))


def trace_id_of(value: str | None) -> str | None:
    """The trace id of a ``traceparent`` header, or None if it is missing or invalid."""
    parsed = parse_traceparent(value)
    return parsed.trace_id if parsed else None
