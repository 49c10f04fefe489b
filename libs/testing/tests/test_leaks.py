"""The leak scanner finds every form of every value it was given, and nothing else."""

import base64

import asyncpg
import pytest

from bitloot_testing.leaks import JWT, Found, Needles, database_dump
from bitloot_testing.postgres import DatabaseFactory


def test_each_value_is_found_as_text_hex_and_base64_wherever_it_sits() -> None:
    needles = Needles({"key 1": "AAAAA-BBBBB-CCCCC", "key 2": "ZZZZZ-YYYYY-XXXXX"})
    haystack = (
        b"prefix AAAAA-BBBBB-CCCCC middle "
        + b"\\x00ff" + b"ZZZZZ-YYYYY-XXXXX".hex().encode() + b"00"
        + b" " + base64.b64encode(b"AAAAA-BBBBB-CCCCC")
    )  # fmt: skip
    found = needles.find("log", haystack)
    assert sorted(found, key=lambda f: (f.label, f.form)) == [
        Found("key 1", "log", "base64"),
        Found("key 1", "log", "text"),
        Found("key 2", "log", "hex"),
    ]


def test_a_haystack_without_the_values_gives_nothing() -> None:
    needles = Needles({"key": "AAAAA-BBBBB-CCCCC"})
    assert needles.find("email", b"AAAAA-BBBBB-CCCCD and AAAAA-BBBBB") == []
    assert Needles({}).find("email", b"anything") == []


def test_an_empty_value_is_refused_rather_than_matching_everything() -> None:
    with pytest.raises(ValueError, match="secret is empty"):
        Needles({"secret": ""})


def test_the_token_pattern_matches_a_signed_jwt_and_not_plain_base64() -> None:
    token = b"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJvcmRlciJ9.c2lnbmF0dXJl"
    assert JWT.search(b"Authorization: Bearer " + token) is not None
    assert JWT.search(base64.b64encode(b"just some bytes, not a token")) is None


async def test_a_database_dump_holds_every_row_with_bytea_as_hex(
    database_factory: DatabaseFactory,
) -> None:
    url = await database_factory("leaks")
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("CREATE TABLE sealed (id int, body bytea, note text)")
        await connection.execute("INSERT INTO sealed VALUES (1, $1, 'plain')", b"AAAAA-BBBBB-CCCCC")
    finally:
        await connection.close()
    dump = await database_dump(url)
    assert Needles({"key": "AAAAA-BBBBB-CCCCC"}).find("db", dump) == [Found("key", "db", "hex")]
    assert b"plain" in dump
