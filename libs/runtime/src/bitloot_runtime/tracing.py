"""W3C trace context (``traceparent``) for events and requests.

Format: ``00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>``; all-zero ids and
version ``ff`` are invalid (W3C Trace Context §3.2).
"""

import re
import secrets
from dataclasses import dataclass

_PATTERN = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class TraceParent:
    trace_id: str
    parent_id: str
    flags: str

    def __str__(self) -> str:
        return f"00-{self.trace_id}-{self.parent_id}-{self.flags}"


def parse_traceparent(value: str | None) -> TraceParent | None:
    """The parsed header, or None for anything malformed."""
    if not value:
        return None
    match = _PATTERN.match(value.strip())
    if match is None:
        return None
    version, trace_id, parent_id, flags = match.groups()
    if version == "ff" or set(trace_id) == {"0"} or set(parent_id) == {"0"}:
        return None
    return TraceParent(trace_id, parent_id, flags)


def new_traceparent() -> str:
    """The start of a new trace (sampled)."""
    return str(TraceParent(secrets.token_hex(16), secrets.token_hex(8), "01"))


def child_traceparent(parent: str | None) -> str:
    """A new span in `parent`'s trace, or a new trace if `parent` is missing or invalid."""
    parsed = parse_traceparent(parent)
    if parsed is None:
        return new_traceparent()
    return str(TraceParent(parsed.trace_id, secrets.token_hex(8), parsed.flags))


def trace_id_of(value: str | None) -> str | None:
    parsed = parse_traceparent(value)
    return parsed.trace_id if parsed else None
