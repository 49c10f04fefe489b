"""Looking for what must never be stored or printed: game keys (outside delivery's memory
and the reveal page) and secrets or access tokens (in logs).

`Needles` holds every form of every value searched for and finds them all in one pass
over a text, however many there are (Aho-Corasick), so a run of hundreds of orders can
be scanned as cheaply as one. A value is looked for as it would be written by whatever
encodes it on the way: as text, as hex in either case (PostgreSQL's bytea, dumps), as
base64 and base64url wherever it sits inside a larger encoded body (a JSON payload, a
token, a MIME part), and as UTF-16. Mail is also decoded part by part, and a directory
(a database's data files and WAL, a broker's message store) is read file by file.
"""

import base64
import email
import email.policy
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path

import ahocorasick_rs
import asyncpg

JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.")
"""A signed JSON Web Token (header and claims both base64url JSON objects)."""

UNREADABLE = "unreadable"
"""The `form` of a finding that is no value but a file or directory that could not be
read: the scan cannot vouch for it, so it is reported like a leak, never skipped."""

MIN_SHIFTED = 12
"""Fewest characters of a base64 middle worth searching for: shorter, and unrelated
base64 would match it by chance (12 characters are 72 bits)."""

CHUNK = 8 << 20
"""How much of a file is searched at once (a file is read in overlapping chunks)."""


def _base64_middles(raw: bytes) -> Iterator[tuple[str, bytes]]:
    """`raw`'s base64 as it appears after 0, 1 or 2 other bytes of a longer input.

    Each base64 character stands for 6 bits, so inside a larger encoding only the
    characters made of `raw`'s bits alone are certain; the first and last may mix with
    the bytes around. For each offset those certain characters are the needle (so a
    value differing only in its first or last few bits matches too: a false positive
    the scan accepts, as it fails safe)."""
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + raw)
        start = -(-8 * offset // 6)  # the first character after the offset's bits
        end = 8 * (offset + len(raw)) // 6  # the last that holds none of what follows
        middle = encoded[start:end]
        if offset and len(middle) < MIN_SHIFTED:
            continue
        suffix = f"+{offset}" if offset else ""
        yield f"base64{suffix}", middle
        yield f"base64url{suffix}", middle.translate(bytes.maketrans(b"+/", b"-_"))


def forms_of(value: str) -> list[tuple[str, bytes]]:
    """Every form of `value` that some encoder on its way could produce, named."""
    raw = value.encode()
    return [
        ("text", raw),
        ("hex", raw.hex().encode()),
        ("HEX", raw.hex().upper().encode()),
        *_base64_middles(raw),
        ("utf-16-le", value.encode("utf-16-le")),
        ("utf-16-be", value.encode("utf-16-be")),
    ]


@dataclass(frozen=True)
class Found:
    """A needle found in a haystack: what it is (`label`), where, and in which form."""

    label: str
    where: str
    form: str


class Needles:
    """Values to look for, each under a label naming it without showing it."""

    def __init__(self, values: dict[str, str]) -> None:
        # Two forms may coincide (base64 without + or / is its own base64url): a word
        # keeps every (label, form) it stands for.
        words: dict[bytes, list[tuple[str, str]]] = {}
        for label, value in values.items():
            if not value:
                raise ValueError(f"{label} is empty: searching for it would match anything")
            for form, needle in forms_of(value):
                words.setdefault(needle, []).append((label, form))
        self._meaning = list(words.values())
        self._automaton = ahocorasick_rs.BytesAhoCorasick(list(words))
        self.count = len(values)
        self.longest = max(map(len, words), default=0)

    def _meanings(self, haystack: bytes) -> Iterator[tuple[str, str]]:
        if not self.count:
            return
        # Overlapping: every needle that ends anywhere, even inside another's match.
        for word, _start, _end in self._automaton.find_matches_as_indexes(
            haystack, overlapping=True
        ):
            yield from self._meaning[word]

    def find(self, where: str, haystack: bytes) -> list[Found]:
        """Every needle in `haystack` (at most one finding per label and form)."""
        found = dict.fromkeys(self._meanings(haystack))
        return [Found(label, where, form) for label, form in found]

    def find_all(self, haystacks: Iterable[tuple[str, bytes]]) -> list[Found]:
        return [found for where, text in haystacks for found in self.find(where, text)]

    def find_in_mail(self, where: str, raw: bytes) -> list[Found]:
        """Every needle in a raw RFC 5322 message: in its bytes as sent, in its headers
        decoded (RFC 2047), and in each part decoded from its transfer encoding
        (quoted-printable, whose soft line breaks may split a key, and base64)."""
        found = self.find(where, raw)
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        found += self.find(f"{where} headers", _decoded_headers(message))
        for index, part in enumerate(message.walk()):
            body = part.get_payload(decode=True)
            if isinstance(body, bytes):
                found += self.find(f"{where} part {index} ({part.get_content_type()})", body)
        return found

    def find_in_tree(self, root: Path, where: str) -> tuple[list[Found], int]:
        """Every needle in every regular file under `root` (symbolic links not
        followed), and how many bytes were read. A file or directory that cannot be
        read is a finding of form `UNREADABLE`: the scan fails rather than vouch for
        what it did not see."""
        if not root.is_dir():  # a wrong path must not pass for a clean directory
            return [Found("not a directory", f"{where} {root}", UNREADABLE)], 0
        found: list[Found] = []
        scanned = 0
        for path, error in _regular_files(root):
            place = f"{where} {path.relative_to(root)}"
            if error is not None:
                found.append(Found(error, place, UNREADABLE))
                continue
            try:
                in_file, size = self._find_in_file(path)
            except FileNotFoundError:
                continue  # removed since listed (a recycled WAL segment): nothing to read
            except OSError as failure:
                found.append(Found(failure.strerror or repr(failure), place, UNREADABLE))
                continue
            found += [Found(label, place, form) for label, form in in_file]
            scanned += size
        return found, scanned

    def _find_in_file(self, path: Path) -> tuple[list[tuple[str, str]], int]:
        """The (label, form) pairs in one file, read in chunks that overlap by one
        needle's length less a byte, so that a needle across two chunks is found."""
        found: dict[tuple[str, str], None] = {}
        size = 0
        tail = b""
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                size += len(chunk)
                window = tail + chunk
                found.update(dict.fromkeys(self._meanings(window)))
                tail = window[-(self.longest - 1) :] if self.longest > 1 else b""
        return list(found), size


def _decoded_headers(message: Message) -> bytes:
    """Every header of every part, RFC 2047 encoded words decoded, as UTF-8."""
    lines: list[str] = []
    for part in message.walk():
        for name, value in part.items():
            try:
                lines.append(f"{name}: {make_header(decode_header(value))}")
            except (LookupError, UnicodeDecodeError, ValueError):
                lines.append(f"{name}: {value}")  # undecodable: the raw scan covers it
    return "\n".join(lines).encode("utf-8", "surrogateescape")


def _regular_files(root: Path) -> Iterator[tuple[Path, str | None]]:
    """Each regular file under `root`, with why it cannot be read (else None); a
    directory that cannot be listed comes last, with why."""
    errors: list[OSError] = []
    for directory, _subdirs, files in os.walk(root, onerror=errors.append):
        for name in files:
            path = Path(directory) / name
            try:
                if stat.S_ISREG(path.lstat().st_mode):  # sockets, FIFOs, links hold nothing
                    yield path, None
            except FileNotFoundError:
                continue
    for failure in errors:
        if not isinstance(failure, FileNotFoundError):
            yield Path(str(failure.filename)), failure.strerror or repr(failure)


async def database_dump(dsn: str) -> bytes:
    """Every row of every table of a database as PostgreSQL prints it (bytea as hex).

    `dsn` is a plain PostgreSQL DSN or an SQLAlchemy asyncpg URL."""
    connection = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        rows: list[str] = []
        for table in [record["tablename"] for record in await connection.fetch(query)]:
            # Names from pg_tables, not from input.
            select = f'SELECT t::text AS row FROM "{table}" t'  # noqa: S608
            rows.extend(f"{table}: {record['row']}" for record in await connection.fetch(select))
        return "\n".join(rows).encode()
    finally:
        await connection.close()
