from collections.abc import Callable

import pytest

from bitloot_sandbox_common.env import ConfigError, EnvReader


def test_values_are_read_by_kind_and_unset_or_empty_means_the_fallback() -> None:
    env = EnvReader("X_", {"X_PORT": "8080", "X_DELAY": "0.5", "X_ON": "yes", "X_URL": ""})
    assert env.integer("PORT", 1) == 8080
    assert env.number("DELAY", 1.0) == 0.5
    assert env.boolean("ON", False) is True
    assert env.optional("URL") is None
    assert env.text("NAME", "default") == "default"


@pytest.mark.parametrize(
    ("name", "value", "read"),
    [
        ("PORT", "80.5", lambda env: env.integer("PORT", 1)),
        ("DELAY", "soon", lambda env: env.number("DELAY", 1.0)),
        ("ON", "maybe", lambda env: env.boolean("ON", False)),
    ],
)
def test_a_value_of_the_wrong_kind_names_the_variable(
    name: str, value: str, read: Callable[[EnvReader], object]
) -> None:
    env = EnvReader("X_", {f"X_{name}": value})
    with pytest.raises(ConfigError, match=f"X_{name} has value '{value}'"):
        read(env)
