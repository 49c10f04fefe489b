"""Structured JSON logs: one object per line, with the service, the order, message and
trace ids of the work in hand, and every secret redacted before it is written.

Secrets are recognised three ways: by the name of the field that holds them, by their
shape (JWTs, PEM private keys, bearer tokens, HMAC-SHA512 signatures), and by value for
the secrets a service registers at start-up (`register_secret`).
"""

import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

REDACTED = "[REDACTED]"
_MIN_SECRET_LENGTH = 6

_context: ContextVar[Mapping[str, str]] = ContextVar("bitloot_log_context", default={})  # noqa: B039
_registered: set[str] = set()

_SAFE_KEYS = frozenset(
    {
        "order_id",
        "message_id",
        "trace_id",
        "kinguin_order_id",
        "key_id",
        "key_count",
        "recipient_key_id",
    }
)
_SECRET_KEY = re.compile(
    r"secret|token|passw|signature|(^|[-_])sig($|[-_])|api[-_]?key|authorization|cookie|"
    r"private[-_]?key|(^|[-_])kek($|[-_])|data[-_]key|plaintext|key[-_]material|^keys?$",
    re.IGNORECASE,
)
_SECRET_SHAPES = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL),
    re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\b[0-9a-fA-F]{128}\b"),
]
# Attributes every LogRecord has, so what remains on a record is what the caller passed
# in `extra`; uvicorn's colour variant of its message is noise in a JSON line.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "color_message",
}


def register_secret(value: str) -> None:
    """Redact `value` wherever it appears in a log line (configured keys and secrets)."""
    if len(value) >= _MIN_SECRET_LENGTH:
        _registered.add(value)


def redact_text(text: str) -> str:
    for secret in sorted(_registered, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for shape in _SECRET_SHAPES:
        text = shape.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


def redact(value: object, key: str = "") -> object:
    """`value` with secrets replaced, recursively through mappings and sequences."""
    if key and key.lower() not in _SAFE_KEYS and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact(item) for item in value]
    return value


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Bind fields (order_id, message_id, trace_id …) to every line logged inside."""
    bound = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(bound)
    try:
        yield
    finally:
        _context.reset(token)


def current_log_context() -> Mapping[str, str]:
    return _context.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per record, secrets redacted."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "service": self._service,
            "message": record.getMessage(),
            **_context.get(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        try:
            return json.dumps(redact(entry), default=str)
        except Exception:  # a log line must never break the code that logs it
            return json.dumps(
                {"level": record.levelname, "message": REDACTED, "logging_error": True}
            )


class _BitlootHandler(logging.StreamHandler[TextIO]):
    """Marks the handler configure_logging installed, so calling it twice replaces it."""


def configure_logging(service: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every log record to `stream` (stderr) as redacted JSON lines."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _BitlootHandler)]:
        root.removeHandler(handler)
    handler = _BitlootHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel(level)
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for noisy in ("aiormq", "aio_pika", "asyncio", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(quiet)
