"""The trace context of the message or request being handled, so that events it causes
carry the same trace id (W3C ``traceparent``)."""

from contextvars import ContextVar

current_traceparent: ContextVar[str | None] = ContextVar("current_traceparent", default=None)
