"""`bitloot-contracts export DIR` and `bitloot-contracts check DIR`.

`export` writes `<topic>.v<N>.json` for every event and `asyncapi.json`. It never
overwrites a committed schema with a different contract under the same version (that
would rewrite history other services rely on): it stops and asks for a new schema_version.
`check` exits non-zero, with a report, when the files differ from what the models produce.
"""

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from bitloot_contracts.asyncapi import asyncapi_document
from bitloot_contracts.compat import breaking_changes, committed_schema_problems, load_schema
from bitloot_contracts.events import EVENT_TYPES, Event
from bitloot_contracts.schemas import event_schema, render, schema_filename

ASYNCAPI_FILE: Final = "asyncapi.json"


def export(directory: Path, models: Mapping[str, type[Event]] = EVENT_TYPES) -> list[str]:
    """Write the schemas of `models` (topic -> model) and their AsyncAPI document.

    Returns the reasons it refused to write, if any; then nothing is written at all.
    """
    files = {schema_filename(model): render(event_schema(model)) for model in models.values()}
    refusals = [
        refusal
        for name, text in files.items()
        if (refusal := _overwrite_refusal(directory / name, text)) is not None
    ]
    if refusals:
        return refusals
    files[ASYNCAPI_FILE] = render(asyncapi_document(models))
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return []


def _overwrite_refusal(path: Path, text: str) -> str | None:
    if not path.is_file():
        return None
    committed = load_schema(path.read_text(encoding="utf-8"))
    current = load_schema(text)
    if committed is None or current is None:
        return None  # not a schema at all: regenerating it can only repair it
    changes = breaking_changes(committed, current)
    if not changes:
        return None
    listed = "".join(f"\n  - {change}" for change in changes)
    return (
        f"Refusing to overwrite {path.name}: the model changed its contract without a new "
        f"schema_version:{listed}\n  Bump the model's schema_version and export again."
    )


def check(directory: Path, models: Mapping[str, type[Event]] = EVENT_TYPES) -> list[str]:
    """Every way the files in `directory` differ from what `models` produce."""
    problems = committed_schema_problems(directory, models.values())
    path = directory / ASYNCAPI_FILE
    expected = render(asyncapi_document(models))
    if not path.is_file() or path.read_text(encoding="utf-8") != expected:
        problems.append(f"{ASYNCAPI_FILE} is missing or out of date. Run `make schemas`.")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `bitloot-contracts` command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="bitloot-contracts", description="JSON Schemas and AsyncAPI of the BitLoot bus."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("export", "write the event schemas and asyncapi.json into DIR"),
        ("check", "fail if the files in DIR differ from what the models produce"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("directory", metavar="DIR", type=Path)
    args = parser.parse_args(argv)
    directory: Path = args.directory
    problems = export(directory) if args.command == "export" else check(directory)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    done = "written to" if args.command == "export" else "up to date in"
    print(f"Contracts {done} {directory}")
    return 0
