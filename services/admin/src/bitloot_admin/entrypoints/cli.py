"""``python -m bitloot_admin <command>``: manage admin accounts from the server.

- ``create-admin <username> [--role viewer|operator|owner]``: create an admin (a viewer
  unless ``--role`` says otherwise) or set its password, which ends all its sessions.
- ``set-role <username> <role>``: change its role (applies to its next request).
- ``disable-admin <username>`` / ``enable-admin <username>``: refuse its logins and every
  session it holds / allow them again.
- ``reset-totp <username>``: remove its second factor (a lost phone); an owner enrols a
  new one at its next login.

The password is read from ``ADMIN_NEW_PASSWORD`` or, failing that, from standard input
(prompted without echo on a terminal), never from the command line where other users
and shell history would see it. The database is migrated first, as at service start.
"""

import asyncio
import getpass
import os
import re
import sys
from collections.abc import Awaitable, Callable

from bitloot_admin.adapters.orm import metadata
from bitloot_admin.adapters.unit_of_work import AdminUnitOfWork
from bitloot_admin.domain.passwords import WeakPassword
from bitloot_admin.domain.roles import Role, UnknownRole
from bitloot_admin.handlers.accounts import CreateAdmin
from bitloot_admin.handlers.ports import AdminWork
from bitloot_admin.handlers.sessions import (
    AccountNotFound,
    DisableAdmin,
    EnableAdmin,
    ResetTotp,
    SetRole,
)
from bitloot_admin.migrations import VERSIONS
from bitloot_admin.settings import Settings
from bitloot_runtime.db import create_engine, migrate
from bitloot_runtime.errors import ConfigError
from bitloot_runtime.settings import load_settings

USAGE = (
    "usage: python -m bitloot_admin create-admin <username> [--role viewer|operator|owner]\n"
    "       python -m bitloot_admin set-role <username> <role>\n"
    "       python -m bitloot_admin disable-admin|enable-admin|reset-totp <username>"
)
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
Works = Callable[[], AdminWork]
Command = Callable[[Works], Awaitable[str]]
_CHANGES: dict[str, tuple[Callable[[Works], Callable[[str], Awaitable[None]]], str]] = {
    "disable-admin": (DisableAdmin, "disabled; its sessions are ended"),
    "enable-admin": (EnableAdmin, "enabled"),
    "reset-totp": (ResetTotp, "has no second factor now"),
}


def main(argv: list[str]) -> int:
    """Run the command in `argv` (without the program name); the process's exit status."""
    try:
        command = _command(argv)
    except (UnknownRole, ValueError) as exc:
        print(f"{exc}\n{USAGE}" if isinstance(exc, UnknownRole) else USAGE, file=sys.stderr)
        return 2
    try:
        settings = load_settings(Settings)
    except ConfigError as exc:
        print(f"admin: {exc}", file=sys.stderr)
        return 2
    try:
        print(asyncio.run(_run(settings, command)))
    except (WeakPassword, AccountNotFound) as exc:
        print(f"admin: {exc}", file=sys.stderr)
        return 2
    return 0


def _command(argv: list[str]) -> Command:
    """What `argv` asks for; ValueError if it is no command."""
    name, *rest = argv or [""]
    if not rest or not _USERNAME.match(rest[0]):
        raise ValueError(name)
    username = rest[0]
    if name == "create-admin" and len(rest) in (1, 3):
        role = Role.named(rest[2]) if len(rest) == 3 and rest[1] == "--role" else None
        if len(rest) == 3 and role is None:
            raise ValueError(name)
        return _create(username, role)
    if name == "set-role" and len(rest) == 2:
        role = Role.named(rest[1])

        async def set_role(work: Works) -> str:
            await SetRole(work)(username, role)
            return f"admin {username!r} is now {role.label}"

        return set_role
    if name in _CHANGES and len(rest) == 1:
        change, said = _CHANGES[name]

        async def changed(work: Works) -> str:
            await change(work)(username)
            return f"admin {username!r} {said}"

        return changed
    raise ValueError(name)


def _create(username: str, role: Role | None) -> Command:
    password = _read_password()

    async def create(work: Works) -> str:
        created = await CreateAdmin(work)(username, password, role)
        return f"admin {username!r} {'created' if created else 'password updated'}"

    return create


def _read_password() -> str:
    if password := os.environ.get("ADMIN_NEW_PASSWORD"):
        return password
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\r\n")


async def _run(settings: Settings, command: Command) -> str:
    await migrate(settings.database_url, metadata, [VERSIONS])
    engine = create_engine(settings.database_url, max_connections=2)
    try:
        return await command(lambda: AdminUnitOfWork(engine))
    finally:
        await engine.dispose()
