"""Writes `.env.example` and `docs/configuration.md` from the services' settings classes.

The settings classes are the single source of truth for every environment variable: its
name (the class's prefix + the field), its default, whether it is a secret and what it
means (the field's description). Generating the reference from them keeps it exact;
`--check` (run by `make lint`) fails when a committed file no longer matches.

    python tools/settings_reference.py          # rewrite both files
    python tools/settings_reference.py --check  # exit 1 if either is out of date
"""

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

import bitloot_admin.settings
import bitloot_delivery.settings
import bitloot_fulfillment.settings
import bitloot_kinguin_gateway.settings
import bitloot_payments.settings

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / ".env.example"
REFERENCE = ROOT / "docs" / "configuration.md"

SERVICES: tuple[tuple[str, type[BaseSettings]], ...] = (
    ("payments", bitloot_payments.settings.Settings),
    ("kinguin-gateway", bitloot_kinguin_gateway.settings.Settings),
    ("fulfillment", bitloot_fulfillment.settings.Settings),
    ("delivery", bitloot_delivery.settings.Settings),
    ("admin", bitloot_admin.settings.Settings),
)

# Example values for required settings that are not secrets, for a single host running
# everything (as `make up` does); secrets stay empty: an example secret is a leaked one.
EXAMPLES = {
    "database_url": "postgresql+asyncpg://postgres@127.0.0.1:5432/bitloot_{service}",
    "amqp_url": "amqp://guest:guest@127.0.0.1:5672/",
}


@dataclass(frozen=True)
class Variable:
    field: str
    name: str
    default: str | None  # None: required
    secret: bool
    description: str


def _default(info: FieldInfo) -> str | None:
    if info.is_required():
        return None
    value = info.get_default(call_default_factory=True)
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, tuple):
        return ",".join(_number(item) for item in value)
    if isinstance(value, bool):
        return str(value).lower()
    return _number(value)


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_secret(info: FieldInfo) -> bool:
    annotation = info.annotation
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


def variables(settings: type[BaseSettings]) -> Iterator[Variable]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    for field, info in settings.model_fields.items():
        description = " ".join((info.description or "").split())
        name = f"{prefix}{field}".upper()
        yield Variable(field, name, _default(info), _is_secret(info), description)


def env_example() -> str:
    lines = [
        "# Every environment variable of the five services, with its default.",
        "# Generated from the settings classes by `python tools/settings_reference.py`;",
        "# docs/configuration.md explains each one. Empty secrets must be filled in.",
    ]
    for service, settings in SERVICES:
        lines += ["", f"# --- {service} ---"]
        for variable in variables(settings):
            if variable.description:
                lines.append(f"# {variable.description}")
            if variable.default is None:
                example = EXAMPLES.get(variable.field, "").format(service=service.replace("-", "_"))
                lines.append(f"{variable.name}={'' if variable.secret else example}")
            else:
                lines.append(f"# {variable.name}={variable.default}")
    return "\n".join(lines) + "\n"


def reference() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Every service reads its settings from environment variables with its own prefix and",
        "refuses to start, naming the variable, when one is missing or invalid. This page is",
        "generated from the settings classes (`python tools/settings_reference.py`); `make lint`",
        "fails when it is out of date. Secrets are marked 🔒: keep them out of ConfigMaps,",
        "images and logs (see [operations.md](operations.md#secrets-and-their-rotation)).",
    ]
    for service, settings in SERVICES:
        lines += [
            "",
            f"## {service}",
            "",
            "| variable | default | meaning |",
            "|---|---|---|",
        ]
        for variable in variables(settings):
            default = "**required**" if variable.default is None else f"`{variable.default}`"
            if variable.default == "":
                default = "(unset)"
            lock = " 🔒" if variable.secret else ""
            meaning = variable.description.replace("|", "\\|")
            lines.append(f"| `{variable.name}`{lock} | {default} | {meaning} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    undocumented = [
        variable.name
        for _service, settings in SERVICES
        for variable in variables(settings)
        if not variable.description
    ]
    if undocumented and args.check:
        print(f"settings without a description: {', '.join(undocumented)}", file=sys.stderr)
        return 1
    stale = []
    for path, text in ((ENV_EXAMPLE, env_example()), (REFERENCE, reference())):
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.relative_to(ROOT))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        names = ", ".join(str(path) for path in stale)
        print(f"out of date: {names}; run: python tools/settings_reference.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
