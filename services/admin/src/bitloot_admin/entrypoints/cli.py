"""``python -m bitloot_admin create-admin <username>``: create an admin or set its password.

The password is read from ``ADMIN_NEW_PASSWORD`` or, failing that, from standard input
(prompted without echo on a terminal), never from the command line where other users
and shell history would see it. The database is migrated first, as at service start.
"""

import asyncio
import getpass
import os
import re
import sys

from sqlalchemy.ext.asyncio import async_sessionmaker

from bitloot_admin.adapters.orm import metadata
from bitloot_admin.domain.passwords import WeakPassword
from bitloot_admin.handlers.accounts import create_admin
from bitloot_admin.migrations import VERSIONS
from bitloot_admin.settings import Settings
from bitloot_runtime.db import create_engine, migrate
from bitloot_runtime.errors import ConfigError
from bitloot_runtime.settings import load_settings

USAGE = "usage: python -m bitloot_admin create-admin <username>"
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def main(argv: list[str]) -> int:
    """Run the command in `argv` (without the program name); the process's exit status."""
    if len(argv) != 2 or argv[0] != "create-admin" or not _USERNAME.match(argv[1]):
        print(USAGE, file=sys.stderr)
        return 2
    try:
        settings = load_settings(Settings)
    except ConfigError as exc:
        print(f"admin: {exc}", file=sys.stderr)
        return 2
    password = _read_password()
    try:
        created = asyncio.run(_create(settings, argv[1], password))
    except WeakPassword as exc:
        print(f"admin: {exc}", file=sys.stderr)
        return 2
    print(f"admin {argv[1]!r} {'created' if created else 'password updated'}")
    return 0


def _read_password() -> str:
    if password := os.environ.get("ADMIN_NEW_PASSWORD"):
        return password
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\r\n")


async def _create(settings: Settings, username: str, password: str) -> bool:
    await migrate(settings.database_url, metadata, [VERSIONS])
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        return await create_admin(async_sessionmaker(engine), username, password)
    finally:
        await engine.dispose()
