"""The home page's charts: hourly series drawn as SVG by pygal, on the server.

The SVG is inlined into the page: no JavaScript (pygal's tooltips script is not
linked, and its inline config script is dropped, which the page's CSP would refuse
anyway), no request to anyone. Each chart is drawn twice, wide and narrow, and scales
to its box (a viewBox, no fixed size); the page shows the one that fits, so the labels
read at 1440 px and on a 390 px phone alike.
"""

import math
import sys
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree

import pygal
from markupsafe import Markup
from pygal.style import Style

from bitloot_admin.domain.home import Series

# Importing pygal appends to `sys.meta_path` a legacy finder (`PluginImportFixer`, which
# maps `pygal.maps.*` to map plugins) with `find_module` but no `find_spec`: every
# importer that asks each finder for a spec then fails (pytest's importlib mode did, on a
# process that had loaded the admin). No map plugin is used here: take it out again.
sys.meta_path[:] = [finder for finder in sys.meta_path if hasattr(finder, "find_spec")]

_SVG = "http://www.w3.org/2000/svg"
# Line names as the legends show them.
NAMES = {
    "placed": "Orders placed",
    "failed": "Failed",
    "p50": "p50 (s)",
    "p99": "p99 (s)",
}
_COLORS = ("#225ea8", "#c0392b", "#2a9d8f")


@dataclass(frozen=True)
class Shape:
    """A drawing's size in SVG units and its type sizes: the wide one shrinks a little
    into half of a 1440 px page, the narrow one a little into a phone's width."""

    width: int
    height: int
    font: int
    # Hours between two x labels, for a day and for a week (a multiple of 24: midnights).
    day_every: int
    week_every: int


# Up to this many points a line shows each as a dot.
SPARSE = 30
WIDE = Shape(640, 300, 15, 3, 24)
NARROW = Shape(360, 260, 13, 6, 48)


def chart(series: Series, shape: Shape, *, week: bool, bars: bool, counts: bool) -> Markup:
    """`series` drawn as bars or lines, labelled every few hours of the clock (a week's
    midnights, named by their day); `counts` keeps the y axis to whole numbers; "No
    data" when a service did not answer."""
    style = Style(
        background="#fff",
        plot_background="#fff",
        foreground="#333",
        foreground_strong="#222",
        foreground_subtle="#ddd",
        font_family="system-ui, sans-serif",
        label_font_size=shape.font,
        major_label_font_size=shape.font,
        legend_font_size=shape.font + 2,
        no_data_font_size=shape.font + 8,
        colors=_COLORS,
    )
    kind = pygal.Bar if bars else pygal.Line
    drawn = kind(
        style=style,
        width=shape.width,
        height=shape.height,
        js=[],
        disable_xml_declaration=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=len(series.lines) or 1,
        include_x_axis=True,
        truncate_label=-1,
        allow_interruptions=True,
        # A lone hour's point must show, but dots on a week of points only blur the line.
        show_dots=_points(series) <= SPARSE,
        dots_size=3,
        stroke_style={"width": 2.5},
        no_data_text="No data",
        max_scale=6,
        margin=8,
        margin_right=shape.font * 2,
        spacing=8,
    )
    every = shape.week_every if week else shape.day_every
    # The hours of the clock divisible by `every` are named, the others left blank.
    drawn.x_labels = [
        _label(hour, every) if hour.hour % every == 0 else "" for hour in series.hours
    ]
    # (pygal cannot place labels on an empty chart: it says "No data" instead.)
    if counts and series.lines:
        drawn.y_labels = _whole_numbers(series)
    for name, values in series.lines.items():
        drawn.add(NAMES.get(name, name), values)
    tree = drawn.render_tree()
    for parent in tree.iter():
        for child in [c for c in parent if c.tag in ("script", f"{{{_SVG}}}script")]:
            parent.remove(child)
    svg = ElementTree.tostring(tree, encoding="unicode")
    # pygal's own drawing, its labels our hour labels and series names, no input of anyone's.
    return Markup(svg)  # noqa: S704


def _points(series: Series) -> int:
    return max((sum(v is not None for v in values) for values in series.lines.values()), default=0)


def _whole_numbers(series: Series) -> list[int]:
    """At most about five whole-number ticks from 0 to the largest value."""
    top = max((v for values in series.lines.values() for v in values if v is not None), default=0)
    step = max(1, math.ceil(top / 5))
    return list(range(0, int(top) + step + 1, step)) if top else [0, 1]


def _label(hour: datetime, every: int) -> str:
    """Every `every`-th hour of the clock named (a multiple of 24: every so many days'
    midnight, by its day), the others blank: a week has 168 hours."""
    if every < 24:
        return hour.strftime("%H:00") if hour.hour % every == 0 else ""
    named = hour.hour == 0 and hour.toordinal() % (every // 24) == 0
    return hour.strftime("%a %d") if named else ""
