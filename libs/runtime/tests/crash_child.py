"""A service process for the crash tests, run as `python crash_child.py MODE`.

- `commit-then-die`: commits a widget and its event, prints the event id, and SIGKILLs
  itself before anything could publish it.
- `serve`: starts the runtime (relay included), prints `started`, runs until killed.

Settings come from WIDGETS_* environment variables, as a real service's would.
"""

import asyncio
import os
import signal
import sys
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).parent))

from pydantic_settings import SettingsConfigDict
from runtime_support import SERVICE, WIDGET_MADE, WidgetMade, create_widgets_table, metadata
from sqlalchemy.ext.asyncio import async_sessionmaker

from bitloot_runtime.db import UnitOfWork, create_engine, migrate
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import ServiceSettings, load_settings


class WidgetSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WIDGETS_")


async def commit_then_die(settings: WidgetSettings) -> None:
    await migrate(settings.database_url, metadata, [])
    engine = create_engine(settings.database_url)
    await create_widgets_table(engine)
    event = WidgetMade(order_id=uuid4(), name="crash")
    async with UnitOfWork(async_sessionmaker(engine)) as uow:
        from runtime_support import widgets

        await uow.session.execute(
            widgets.insert().values(id=uuid4(), order_id=event.order_id, name=event.name)
        )
        await uow.emit(event)
        await uow.commit()
    print(event.event_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


async def serve(settings: WidgetSettings) -> None:
    runtime = ServiceRuntime(
        service=SERVICE,
        settings=settings,
        metadata=metadata,
        subscriptions={SERVICE: (WIDGET_MADE,)},
    )
    await runtime.start()
    print("started", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    mode = sys.argv[1]
    loaded = load_settings(WidgetSettings)
    asyncio.run(commit_then_die(loaded) if mode == "commit-then-die" else serve(loaded))
