"""Structured JSON logs: one object per line, with the service, the order, message and
trace ids of the work in hand, and every secret redacted before any handler writes it.

Secrets are recognised three ways: by the name of the field that holds them, by their
shape (JWTs, PEM private keys, bearer tokens, HMAC-SHA512 signatures, passwords in
URLs), and by value for the secrets a service registers at start-up (`register_secret`).
"""

import functools
import logging
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType, TracebackType
from typing import TextIO
from urllib.parse import quote, unquote

from pythonjsonlogger.json import JsonFormatter

REDACTED = "[REDACTED]"
# Shorter values would redact ordinary words and numbers all over the logs.
_MIN_SECRET_LENGTH = 6
# Deeper structures (or cycles) are not inspected, so they are not written either.
_MAX_DEPTH = 16
# httpx logs every call's full URL at INFO, query string included.
_NOISY_LOGGERS = ("aiormq", "aio_pika", "asyncio", "httpx", "uvicorn.access")

_context: ContextVar[Mapping[str, str]] = ContextVar(
    "bitloot_log_context", default=MappingProxyType({})
)

_SAFE_KEYS = frozenset(
    {
        "order_id",
        "message_id",
        "trace_id",
        "kinguin_order_id",
        "key_id",
        "kek_id",
        "recipient_key_id",
        "key_count",
    }
)
_SECRET_KEY = re.compile(
    r"secret|token|passw|signature|(^|[-_])sig($|[-_])|api[-_]?key|authorization|cookie|"
    r"private[-_]?key|kek|data[-_]?key|plaintext|key[-_]?material|^keys?$",
    re.IGNORECASE,
)
# (pattern, replacement): groups 1 and 2, where present, are context kept around the secret.
_SECRET_SHAPES = (
    (
        # An unterminated block (a message cut short) is redacted to the end of the text.
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----|.*)",
            re.DOTALL,
        ),
        REDACTED,
    ),
    (re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"\b(bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\1{REDACTED}"),
    (re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{128}(?![0-9a-fA-F])"), REDACTED),
    # scheme://user:password@host, e.g. a DSN in a driver's error message. Userinfo holds
    # no unencoded "/", "?" or "#" (RFC 3986), so a match cannot run into a path or query.
    (re.compile(r"(://[^:/?#@\s]*:)[^/?#@\s]+(@)"), rf"\1{REDACTED}\2"),
)


def _may_hold_a_shape(text: str) -> bool:
    """False only where no pattern of `_SECRET_SHAPES` can match: each needs the literal,
    or (the signature) the length, tested here, which is much cheaper than a search."""
    return (
        len(text) >= 128
        or "://" in text
        or "eyJ" in text
        or "-----BEGIN" in text
        or "bearer" in text.lower()
    )


# Attributes every LogRecord has, so what remains on a record is what the caller passed
# in `extra`; uvicorn's colour variant of its message is noise in a JSON line.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "color_message",
}
# Every line's fixed fields, under the names operators search by.
_RENAMED = {"levelname": "level", "name": "logger", "exc_info": "exception", "stack_info": "stack"}
_FIXED_FIELDS = frozenset({*_RENAMED.values(), "service", "timestamp"})
_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class _RegisteredSecrets:
    """Literal secret values; the pattern is swapped whole so that a thread logging
    while another registers never sees a half-built set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: set[str]) -> None:
        if not values:  # an empty alternation would match, and redact, between every character
            return
        with self._lock:
            self._values |= values
            # Longest first, so a secret containing another is replaced whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def found_in(self, text: str) -> bool:
        pattern = self._pattern
        return pattern is not None and pattern.search(text) is not None

    def redact(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub(REDACTED, text)


_registered = _RegisteredSecrets()
_TRACEBACKS = logging.Formatter()


def register_secret(value: str) -> None:
    """Redact `value` wherever it appears in a log line from now on.

    Services register their configured API keys, webhook and IPN secrets, KEKs and
    connection passwords at start-up. The percent-encoded and -decoded forms are
    registered too, since a password can reach a log line through a URL either way.
    Values shorter than 6 characters are ignored.
    """
    forms = {value, unquote(value), quote(value, safe="")}
    _registered.add({form for form in forms if len(form) >= _MIN_SECRET_LENGTH})


def redact_text(text: str) -> str:
    """`text` with registered secrets and secret-shaped substrings replaced."""
    # Most text holds no secret: say so cheaply instead of substituting every pattern.
    if not (_may_hold_a_shape(text) or _registered.found_in(text)):
        return text
    text = _registered.redact(text)
    for pattern, replacement in _SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    return text


def redact(value: object, key: str = "", _depth: int = 0) -> object:
    """`value` with secrets replaced, recursively through mappings and sequences.

    A value held under a secret-sounding `key` is replaced whole (unless it is None or
    a bool, which carry no secret and say whether a header was there); objects other
    than JSON scalars become redacted strings.
    """
    if key and _is_secret_key(key):
        return value if value is None or isinstance(value, bool) else REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    if _depth >= _MAX_DEPTH:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        return redact_text(value.decode("utf-8", errors="replace"))
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k), _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item, "", _depth + 1) for item in value]
    return redact_text(_printable(value))


@functools.lru_cache(maxsize=1024)
def _is_secret_key(key: str) -> bool:
    return key.lower() not in _SAFE_KEYS and _SECRET_KEY.search(key) is not None


def _printable(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Bind fields (order_id, message_id, trace_id …) to every line logged inside.

    Backed by a context variable, so the binding follows awaits and each asyncio task
    sees only its own; None values are left out.
    """
    bound = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(MappingProxyType(bound))
    try:
        yield
    finally:
        _context.reset(token)


class RedactingFilter(logging.Filter):
    """Adds the bound log context to each record and redacts the record in place, so
    that no handler after this filter sees a secret. Never raises, never drops."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            _bind_context(record)
            _redact_record(record)
        except Exception:  # a log line must never break the code that logs it
            _strip_record(record)
        return True


def _bind_context(record: logging.LogRecord) -> None:
    for key, value in _context.get().items():
        # Explicit `extra` fields win over bound ones; record attributes are never replaced.
        if key not in _RECORD_FIELDS and not hasattr(record, key):
            setattr(record, key, value)


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit the format string
        message = f"{_printable(record.msg)} args={_printable(record.args)}"
    record.msg, record.args = redact_text(message), None
    for key in _extra_keys(record):
        setattr(record, key, redact(getattr(record, key), key))
    if record.exc_info and not record.exc_text:
        record.exc_text = _TRACEBACKS.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)


def _strip_record(record: logging.LogRecord) -> None:
    """Keep only what is known to be safe: where and how severe, not what."""
    for key in _extra_keys(record):
        delattr(record, key)
    record.msg, record.args = f"{REDACTED} (log record could not be redacted)", None
    record.exc_info, record.exc_text, record.stack_info = None, None, None


def _extra_keys(record: logging.LogRecord) -> list[str]:
    return [key for key in vars(record) if key not in _RECORD_FIELDS]


class _JsonFormatter(JsonFormatter):
    """python-json-logger's formatter under BitLoot's field names; expects the record
    redacted by `RedactingFilter`. An `extra` named like a fixed field (``service``,
    ``level`` …) is left out rather than allowed to replace it; the library's encoder
    writes a value JSON cannot hold by its str() or repr(), and does not raise."""

    def __init__(self, service: str) -> None:
        super().__init__(
            ("levelname", "name", "message"),
            rename_fields=_RENAMED,
            static_fields={"service": service},
            reserved_attrs=[*_RECORD_FIELDS, *_FIXED_FIELDS],
            timestamp=True,
        )

    def formatException(self, ei: _ExcInfo) -> str:
        # The library formats `exc_info` afresh instead of reusing the redacted `exc_text`.
        return redact_text(logging.Formatter.formatException(self, ei))


class _BitlootHandler(logging.StreamHandler[TextIO]):
    """Marks the handler configure_logging installed, so calling it twice replaces it."""


def configure_logging(service: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every log record to `stream` (default stderr) as redacted JSON lines.

    Idempotent: a second call replaces the handler the first one installed. Chatty
    client libraries are held at WARNING unless `level` is DEBUG.
    """
    levels = logging.getLevelNamesMapping()
    name = level.upper()
    if name not in levels or name == "NOTSET":
        choices = ", ".join(n for n in levels if n not in {"NOTSET", "WARN", "FATAL"})
        raise ValueError(f"Log level {level!r} is not one of {choices}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _BitlootHandler)]:
        root.removeHandler(old)
        old.close()
    handler = _BitlootHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(_JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel(levels[name])
    quiet = logging.NOTSET if name == "DEBUG" else logging.WARNING
    for noisy in _NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(quiet)
