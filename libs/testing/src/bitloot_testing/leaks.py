"""Looking for what must never be stored or printed: game keys (outside delivery's memory
and the reveal page) and secrets or access tokens (in logs).

`Needles` holds every form of every value searched for and finds them all in one pass
over a text, however many there are (Aho-Corasick), so a run of hundreds of orders can
be scanned as cheaply as one.
"""

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick
import asyncpg

JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.")
"""A signed JSON Web Token (header and claims both base64url JSON objects)."""


def forms_of(value: str) -> list[bytes]:
    """The value as text, hex (how PostgreSQL prints bytea) and base64, so that no
    encoding hides a leak."""
    raw = value.encode()
    return [raw, raw.hex().encode(), base64.b64encode(raw)]


@dataclass(frozen=True)
class Found:
    """A needle found in a haystack: what it is (`label`), where, and in which form."""

    label: str
    where: str
    form: str


class Needles:
    """Values to look for, each under a label naming it without showing it."""

    _FORMS = ("text", "hex", "base64")

    def __init__(self, values: dict[str, str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for label, value in values.items():
            if not value:
                raise ValueError(f"{label} is empty: searching for it would match anything")
            for form, needle in zip(self._FORMS, forms_of(value), strict=True):
                # bytes decoded as latin-1: one character per byte, nothing lost.
                self._automaton.add_word(needle.decode("latin-1"), (label, form))
        self.count = len(values)
        if self.count:
            self._automaton.make_automaton()

    def find(self, where: str, haystack: bytes) -> list[Found]:
        """Every needle in `haystack` (at most one finding per label and form)."""
        if not self.count:
            return []
        seen: dict[tuple[str, str], Found] = {}
        for _end, (label, form) in self._automaton.iter(haystack.decode("latin-1")):
            seen.setdefault((label, form), Found(label, where, form))
        return list(seen.values())

    def find_all(self, haystacks: Iterable[tuple[str, bytes]]) -> list[Found]:
        return [found for where, text in haystacks for found in self.find(where, text)]


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
