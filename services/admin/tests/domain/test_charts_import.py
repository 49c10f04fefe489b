"""Loading the admin's charts leaves Python's import machinery as it found it."""

import importlib.util
import sys

import pygal

from bitloot_admin.domain import charts


def test_every_import_finder_still_answers_find_spec_after_pygal_is_loaded() -> None:
    assert charts.NAMES
    assert pygal.Line is not None
    assert all(hasattr(finder, "find_spec") for finder in sys.meta_path)
    # What pytest's importlib mode and importlib.util do with every finder.
    assert importlib.util.find_spec("json") is not None
    for finder in sys.meta_path:
        finder.find_spec("bitloot_no_such_module", None)
