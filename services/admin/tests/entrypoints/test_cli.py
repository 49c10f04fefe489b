"""``python -m bitloot_admin create-admin``, run as a process, then used to log in."""

import os
import subprocess
import sys

from admin_support import RunningAdmin, StandIns, running_admin, settings_for
from sqlalchemy import select

from bitloot_admin.adapters.orm import admins
from bitloot_testing.rabbitmq import BusNamespace


def admin_command(
    env: dict[str, str], *argv: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bitloot_admin", *argv],
        input=stdin,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def environment(admin: RunningAdmin) -> dict[str, str]:
    settings = admin.settings
    return {
        "ADMIN_DATABASE_URL": settings.database_url,
        "ADMIN_AMQP_URL": settings.amqp_url,
        "ADMIN_INTERNAL_TOKEN": settings.internal_token.get_secret_value(),
        "ADMIN_SESSION_PRIVATE_KEY": settings.session_private_key.get_secret_value(),
        "ADMIN_PAYMENTS_URL": settings.payments_url,
        "ADMIN_KINGUIN_GATEWAY_URL": settings.kinguin_gateway_url,
        "ADMIN_FULFILLMENT_URL": settings.fulfillment_url,
        "ADMIN_DELIVERY_URL": settings.delivery_url,
    }


async def test_an_admin_created_from_the_command_line_can_log_in_and_see_the_orders(
    database_url: str, bus_prefix: BusNamespace, stand_ins: StandIns
) -> None:
    stand_ins.add_order("buyer@example.com", 0)
    settings = settings_for(database_url, bus_prefix, stand_ins)
    async with running_admin(settings, bus_prefix) as admin:
        done = admin_command(
            environment(admin), "create-admin", "bob", stdin="a-long-enough-password\n"
        )
        assert done.returncode == 0, done.stderr
        assert "a-long-enough-password" not in done.stdout + done.stderr
        async with admin.client() as client:
            login = {"username": "bob", "password": "a-long-enough-password"}
            token = (await client.post("/admin/login", json=login)).json()["token"]
            orders = await client.get(
                "/admin/api/orders", headers={"Authorization": f"Bearer {token}"}
            )
    assert [o["email"] for o in orders.json()["items"]] == ["buyer@example.com"]


async def test_a_short_password_is_refused_and_the_environment_may_give_it(
    admin: RunningAdmin,
) -> None:
    short = admin_command(environment(admin), "create-admin", "carol", stdin="short\n")
    assert short.returncode == 2
    assert "at least 12 characters" in short.stderr
    env = {**environment(admin), "ADMIN_NEW_PASSWORD": "from-the-environment"}
    assert admin_command(env, "create-admin", "dave", stdin="").returncode == 0
    async with admin.client() as client:
        login = {"username": "dave", "password": "from-the-environment"}
        assert (await client.post("/admin/login", json=login)).status_code == 200


def test_usage_is_printed_for_an_unknown_command() -> None:
    done = admin_command({}, "drop-tables")
    assert done.returncode == 2
    assert "usage" in done.stderr


async def test_roles_are_set_and_accounts_disabled_from_the_command_line(
    admin: RunningAdmin,
) -> None:
    env = environment(admin)
    made = admin_command(
        {**env, "ADMIN_NEW_PASSWORD": "a-long-enough-password"},
        "create-admin",
        "erin",
        "--role",
        "operator",
    )
    assert made.returncode == 0, made.stderr
    done = admin_command(env, "set-role", "erin", "viewer")
    assert (done.returncode, done.stdout.strip()) == (0, "admin 'erin' is now viewer")
    assert admin_command(env, "set-role", "erin", "emperor").returncode == 2
    assert admin_command(env, "disable-admin", "nobody-here").returncode == 2
    disabled = admin_command(env, "disable-admin", "erin")
    assert disabled.returncode == 0, disabled.stderr
    async with admin.runtime.engine.connect() as connection:
        row = (await connection.execute(select(admins).where(admins.c.username == "erin"))).one()
    assert (row.role, row.disabled_at is not None, row.session_generation) == ("viewer", True, 1)
