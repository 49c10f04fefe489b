"""The leak scanner finds every form of every value it was given, and nothing else:
plain, hex in both cases, base64 and base64url wherever the value sits in the encoded
input, UTF-16, mail decoded part by part, and every file of a server's data directory."""

import base64
import json
import os
import random
import shutil
import string
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import aio_pika
import asyncpg
import pytest

from bitloot_testing import leaks
from bitloot_testing.leaks import JWT, UNREADABLE, Found, Needles, database_dump
from bitloot_testing.postgres import DatabaseFactory
from bitloot_testing.private_servers import (
    PrivatePostgres,
    PrivateRabbit,
)

KEY = "AAAAA-BBBBB-CCCCC"
ODD = "?>?>?-~~~~~-?>?>?"
"""A key whose base64 holds + or / at every offset (so base64url differs from it) and
whose hex holds letters (so upper-case hex differs from lower)."""


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data)


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "text": lambda data: data,
    "hex": lambda data: data.hex().encode(),
    "HEX": lambda data: data.hex().upper().encode(),
    "base64": base64.b64encode,
    "base64url": b64url,
    "utf-16-le": lambda data: data.decode().encode("utf-16-le"),
    "utf-16-be": lambda data: data.decode().encode("utf-16-be"),
}


def expected_form(encoding: str, before: int) -> str:
    """Base64 forms are named by the offset of the value in its 3-byte group."""
    return f"{encoding}+{before}" if encoding.startswith("base64") and before else encoding


@pytest.mark.parametrize("encoding", list(ENCODERS))
@pytest.mark.parametrize("before", [0, 1, 2])
@pytest.mark.parametrize("after", [0, 1, 2])
def test_each_form_is_found_wherever_the_value_sits(encoding: str, before: int, after: int) -> None:
    encoded = ENCODERS[encoding](b"x" * before + ODD.encode() + b"y" * after)
    found = Needles({"the key": ODD}).find("body", b"prefix " + encoded + b" suffix")
    forms = {f.form for f in found}
    assert expected_form(encoding, before) in forms
    # One byte into UTF-16 LE text is the same text in UTF-16 BE: either may be found.
    assert len(forms) == 1 or forms == {"utf-16-le", "utf-16-be"}


def test_each_value_is_found_under_its_own_label_in_one_pass() -> None:
    needles = Needles({"key 1": KEY, "key 2": "ZZZZZ-YYYYY-XXXXX"})
    haystack = b"prefix " + KEY.encode() + b" \\x00ff" + b"ZZZZZ-YYYYY-XXXXX".hex().encode()
    found = needles.find("log", haystack)
    assert sorted(found, key=lambda f: f.label) == [
        Found("key 1", "log", "text"),
        Found("key 2", "log", "hex"),
    ]


@pytest.mark.parametrize("order", ["1", "12", "123"])
def test_a_key_in_a_base64_encoded_json_body_is_found(order: str) -> None:
    body = json.dumps({"order": order, "keys": [{"serial": KEY}]}).encode()
    needles = Needles({"the key": KEY})
    found = {f.form for f in needles.find("message", base64.b64encode(body))}
    assert found & {"base64", "base64+1", "base64+2"}, found


def test_a_quoted_printable_mail_with_a_soft_break_inside_the_key_is_decoded() -> None:
    raw = (
        b"From: shop@example.com\r\nTo: buyer@example.com\r\nSubject: Your key\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Your key: AAAAA-BB=\r\nBBB-CC=43CC\r\n"
    )
    needles = Needles({"the key": KEY})
    assert needles.find("email", raw) == []  # the bytes as sent do not show it
    assert needles.find_in_mail("email", raw) == [
        Found("the key", "email part 0 (text/plain)", "text")
    ]


def test_a_base64_mime_part_split_across_lines_is_decoded() -> None:
    message = EmailMessage()
    message["Subject"] = "Your key"
    # 54 bytes before the key: its base64 starts at column 72 of a 76-column line.
    message.set_content("x" * 54 + KEY + "\n", cte="base64")
    attachment = b"z" * 54 + KEY.encode()
    message.add_attachment(attachment, maintype="application", subtype="octet-stream")
    raw = message.as_bytes()
    needles = Needles({"the key": KEY})
    assert needles.find("email", raw) == []
    found = needles.find_in_mail("email", raw)
    assert {f.where for f in found} == {
        "email part 1 (text/plain)",
        "email part 2 (application/octet-stream)",
    }


def test_an_encoded_mail_header_is_decoded() -> None:
    raw = b"Subject: =?utf-8?q?Ihr_Schl=C3=BCssel_AAAAA-BBB=42B-CCCCC?=\r\n\r\nnothing here\r\n"
    needles = Needles({"the key": KEY})
    assert needles.find("email", raw) == []
    assert needles.find_in_mail("email", raw) == [Found("the key", "email headers", "text")]


def test_a_haystack_without_the_values_gives_nothing() -> None:
    needles = Needles({"key": KEY})
    assert needles.find("email", b"AAAAA-BBBBB-CCCCD and AAAAA-BBBBB") == []
    # The last character differs in its high bits: a base64 middle omits the low ones.
    assert needles.find("email", base64.b64encode(b"AAAAA-BBBBB-CCCCX")) == []
    assert Needles({}).find("email", b"anything") == []


def random_key(rng: random.Random) -> str:
    """A key shaped like the providers' serials (five groups of five)."""
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(rng.choices(alphabet, k=5)) for _ in range(5))


def test_600_keys_match_nothing_in_megabytes_of_random_bytes_and_base64() -> None:
    rng = random.Random(19)
    needles = Needles({f"key {n}": random_key(rng) for n in range(600)})
    noise = rng.randbytes(3 << 20)
    haystacks = [("random bytes", noise), ("random base64", base64.b64encode(noise))]
    haystacks.append(("random keys", "\n".join(random_key(rng) for _ in range(50_000)).encode()))
    started = time.perf_counter()
    found = needles.find_all(haystacks)
    size = sum(len(h) for _, h in haystacks)
    print(f"600 keys over {size / 1e6:.1f} MB of noise: {len(found)} false positives, "
          f"{size / 1e6 / (time.perf_counter() - started):.0f} MB/s")  # fmt: skip
    assert found == []


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
        await connection.execute("INSERT INTO sealed VALUES (1, $1, 'plain')", KEY.encode())
    finally:
        await connection.close()
    dump = await database_dump(url)
    assert Needles({"key": KEY}).find("db", dump) == [Found("key", "db", "hex")]
    assert b"plain" in dump


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A directory other users may enter: the servers run as their own users, and the
    unreadable-file test as nobody, when the tests run as root."""
    for path in [tmp_path, *tmp_path.parents[:-1]]:
        path.chmod(path.stat().st_mode | 0o005)
    return tmp_path


def test_every_file_of_a_tree_is_read_in_overlapping_chunks(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leaks, "CHUNK", 64)  # the key straddles the first two chunks
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "segment").write_bytes(os.urandom(50) + KEY.encode() + os.urandom(100))
    (root / "a" / "hex").write_bytes(b"\\x" + KEY.encode().hex().upper().encode())
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "key").write_text(KEY)
    (root / "a" / "link").symlink_to(root / "elsewhere" / "key")
    os.mkfifo(root / "a" / "fifo")  # would block a reader forever: not a regular file
    found, scanned = Needles({"the key": KEY}).find_in_tree(root / "a", "tree")
    assert sorted(found, key=lambda f: f.where) == [
        Found("the key", "tree b/segment", "text"),
        Found("the key", "tree hex", "HEX"),
    ]
    assert scanned == 50 + len(KEY) + 100 + 2 + 2 * len(KEY)


def test_a_directory_that_is_not_there_is_reported_not_found_clean() -> None:
    assert Needles({"key": KEY}).find_in_tree(Path("/nonexistent"), "tree") == (
        [Found("not a directory", "tree /nonexistent", UNREADABLE)],
        0,
    )


def scan_as_nobody(root: Path) -> list[Found]:
    """`find_in_tree` run by a process without root's right to read every file."""
    needles = Needles({"the key": KEY})  # built first: nobody may not read Python's files
    if os.geteuid() != 0:
        return needles.find_in_tree(root, "tree")[0]
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child answers through the pipe, then exits
        try:
            os.close(read)
            os.setgid(65534)
            os.setuid(65534)
            found = needles.find_in_tree(root, "tree")[0]
            os.write(write, json.dumps([vars(f) for f in found]).encode())
        except BaseException as failure:  # reported to the parent as text
            os.write(write, repr(failure).encode())
        finally:
            os._exit(0)  # never back into pytest
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(child, 0)
    assert answer.startswith(b"["), answer
    return [Found(**f) for f in json.loads(answer)]


def test_a_file_or_directory_that_cannot_be_read_is_reported_not_skipped(root: Path) -> None:
    (root / "secret").write_text(KEY)
    (root / "secret").chmod(0o600)
    (root / "closed").mkdir(mode=0o700)
    (root / "open").write_text("nothing")
    (root / "open").chmod(0o644)
    found = sorted(scan_as_nobody(root), key=lambda f: f.where)
    assert [(f.where, f.form) for f in found] == [
        ("tree closed", UNREADABLE),
        ("tree secret", UNREADABLE),
    ]


@pytest.mark.slow
async def test_a_key_updated_away_stays_in_postgresql_wal_and_data_files(root: Path) -> None:
    postgres = PrivatePostgres(root / "postgres")
    postgres.start()
    try:
        found, scanned = await updated_away(postgres, Needles({"the key": KEY}))
    finally:
        postgres.stop()
    assert any(f.where.startswith("postgres data/base/") for f in found), found
    assert UNREADABLE not in {f.form for f in found}
    print(f"PostgreSQL data directory: {scanned / 1e6:.1f} MB scanned, found in", found)


async def updated_away(postgres: PrivatePostgres, needles: Needles) -> tuple[list[Found], int]:
    """A key inserted then overwritten: gone from the rows, at once in the WAL; what the
    data directory holds after a checkpoint (which writes the old row version out)."""
    connection = await asyncpg.connect(postgres.url)
    try:
        await connection.execute("CREATE TABLE keys (id int PRIMARY KEY, serial text)")
        await connection.execute("INSERT INTO keys VALUES (1, $1)", KEY)
        await connection.execute("UPDATE keys SET serial = 'revealed' WHERE id = 1")
        assert needles.find("rows", await database_dump(postgres.url)) == []
        found, _scanned = needles.find_in_tree(postgres.root, "postgres")
        assert any(f.where.startswith("postgres data/pg_wal/") for f in found), found
        await connection.execute("CHECKPOINT")
        return needles.find_in_tree(postgres.root, "postgres")
    finally:
        await connection.close()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("rabbitmq-server") is None, reason="rabbitmq-server not installed")
async def test_a_consumed_quorum_queue_message_stays_in_rabbitmq_data_dir(root: Path) -> None:
    rabbit = PrivateRabbit(root / "rabbitmq")
    rabbit.start()
    try:
        connection = await aio_pika.connect(rabbit.url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(
                "keys", durable=True, arguments={"x-queue-type": "quorum"}
            )
            body = json.dumps({"keys": [{"serial": KEY}]}).encode()
            persistent = aio_pika.DeliveryMode.PERSISTENT
            await channel.default_exchange.publish(
                aio_pika.Message(body, delivery_mode=persistent), routing_key="keys"
            )
            message = await queue.get(timeout=10)
            await message.ack()
            assert await queue.get(fail=False) is None  # consumed: gone from the queue
        found, scanned = Needles({"the key": KEY}).find_in_tree(root / "rabbitmq", "rabbitmq")
    finally:
        rabbit.stop()
    assert any(f.where.startswith("rabbitmq mnesia/") for f in found), found
    print(f"RabbitMQ data directory: {scanned / 1e6:.1f} MB scanned, found in", found)
