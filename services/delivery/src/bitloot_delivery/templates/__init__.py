"""The customer's emails and pages, as Jinja2 templates loaded once per process.

HTML templates (``.html``) are autoescaped: a product title or key is text wherever it
comes from. Plain-text email parts (``.txt``) are not (HTML escapes would show as
``&amp;``); they never reach a browser as markup.
"""

from functools import cache
from importlib.resources import files

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@cache
def environment() -> Environment:
    """The package's templates; each is compiled at its first use and kept."""
    return Environment(
        loader=PackageLoader("bitloot_delivery", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)


@cache
def static(name: str) -> bytes:
    """A file served as is (the reveal page's copy script), read once."""
    return files("bitloot_delivery.templates").joinpath(name).read_bytes()
