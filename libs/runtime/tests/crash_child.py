"""A widgets service process for the crash tests: `python crash_child.py MODE`.

- `commit-then-die`: commits a widget and its event, prints the event id, and SIGKILLs
  itself before anything could publish it.
- `serve`: the whole runtime (relay and a `widget.made` consumer); prints `started`.
- `consume-then-die`: as `serve`, but dies by SIGKILL right after the consumer's first
  commit, before it can ack the message.
- `publish-then-die`: commits a widget and its event, then relays it and dies by SIGKILL
  right after the broker confirmed it, before the row is marked published.

Settings come from WIDGETS_* environment variables, as a real service's would.
"""

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ParamSpec
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).parent))

from pydantic_settings import SettingsConfigDict
from runtime_support import (
    Recorder,
    WidgetMade,
    create_widgets_table,
    make_widget,
    metadata,
    widget_runtime,
)
from sqlalchemy.ext.asyncio import async_sessionmaker

from bitloot_runtime.db import UnitOfWork, create_engine, migrate
from bitloot_runtime.logging import configure_logging
from bitloot_runtime.publisher import BusPublisher
from bitloot_runtime.settings import ServiceSettings, load_settings

P = ParamSpec("P")


class WidgetSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WIDGETS_")


def die_after(
    original: Callable[P, Coroutine[Any, Any, None]],
) -> Callable[P, Coroutine[Any, Any, None]]:
    """`original`, then an immediate SIGKILL: a crash right after that step succeeded."""

    async def step_then_crash(*args: P.args, **kwargs: P.kwargs) -> None:
        await original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    return step_then_crash


async def commit_widget(settings: WidgetSettings) -> WidgetMade:
    await migrate(settings.database_url, metadata, [])
    engine = create_engine(settings.database_url)
    await create_widgets_table(engine)
    event = WidgetMade(order_id=uuid4(), name="crash")
    async with UnitOfWork(async_sessionmaker(engine)) as uow:
        await make_widget(uow, event.order_id, event.name, emit=False)
        await uow.emit(event)
        await uow.commit()
    await engine.dispose()
    print(event.event_id, flush=True)
    return event


async def serve(settings: WidgetSettings) -> None:
    # The table the consumer writes exists before the first message can arrive.
    await migrate(settings.database_url, metadata, [])
    engine = create_engine(settings.database_url)
    await create_widgets_table(engine)
    await engine.dispose()
    runtime = widget_runtime(settings, Recorder())
    await runtime.start()
    print("started", flush=True)
    await asyncio.Event().wait()


async def main(mode: str, settings: WidgetSettings) -> None:
    if mode in ("commit-then-die", "publish-then-die"):
        await commit_widget(settings)
        if mode == "commit-then-die":
            os.kill(os.getpid(), signal.SIGKILL)
        BusPublisher.publish_event = die_after(BusPublisher.publish_event)  # type: ignore[method-assign]
    elif mode == "consume-then-die":
        UnitOfWork.commit = die_after(UnitOfWork.commit)  # type: ignore[method-assign]
    await serve(settings)


if __name__ == "__main__":
    configure_logging("widgets")
    asyncio.run(main(sys.argv[1], load_settings(WidgetSettings)))
