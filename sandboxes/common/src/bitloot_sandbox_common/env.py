"""Reading a sandbox's settings from prefixed environment variables."""

import os
from collections.abc import Mapping


class ConfigError(ValueError):
    """An environment variable with a value the sandbox cannot use."""


class EnvReader:
    """Values of ``<prefix><NAME>`` variables; unset or empty means the fallback, a value
    of the wrong kind raises `ConfigError` naming the variable."""

    def __init__(self, prefix: str, environ: Mapping[str, str] | None = None) -> None:
        self.prefix = prefix
        self._env = os.environ if environ is None else environ

    def optional(self, name: str) -> str | None:
        return self._env.get(self.prefix + name) or None

    def text(self, name: str, fallback: str) -> str:
        return self.optional(name) or fallback

    def integer(self, name: str, fallback: int) -> int:
        value = self.optional(name)
        if value is None:
            return fallback
        try:
            return int(value)
        except ValueError:
            raise self._error(name, value, "an integer") from None

    def number(self, name: str, fallback: float) -> float:
        value = self.optional(name)
        if value is None:
            return fallback
        try:
            return float(value)
        except ValueError:
            raise self._error(name, value, "a number") from None

    def boolean(self, name: str, fallback: bool) -> bool:
        value = self.optional(name)
        if value is None:
            return fallback
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise self._error(name, value, "a boolean")

    def _error(self, name: str, value: str, kind: str) -> ConfigError:
        return ConfigError(f"{self.prefix}{name} has value {value!r}. Not {kind}.")
