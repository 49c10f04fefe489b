"""The home page's charts: hourly series drawn as SVG by pygal, on the server.

The SVG is inlined into the page: no JavaScript (pygal's tooltips script is not
linked, and its inline config script is dropped, which the page's CSP would refuse
anyway), no request to anyone. Each chart scales to its box (a viewBox, no fixed
size), so one drawing reads at 1440 px and on a 390 px phone.
"""

from datetime import datetime
from xml.etree import ElementTree

import pygal
from markupsafe import Markup
from pygal.style import Style

from bitloot_admin.domain.home import Series

_SVG = "http://www.w3.org/2000/svg"
# Large type: the drawing is 640 units wide and shrinks to about 360 px on a phone.
STYLE = Style(
    background="#fff",
    plot_background="#fff",
    foreground="#333",
    foreground_strong="#222",
    foreground_subtle="#ddd",
    font_family="system-ui, sans-serif",
    label_font_size=15,
    major_label_font_size=15,
    legend_font_size=17,
    title_font_size=18,
    no_data_font_size=24,
    colors=("#225ea8", "#c0392b", "#2a9d8f"),
)
WIDTH, HEIGHT = 640, 300
# Line names as the legends show them.
NAMES = {
    "placed": "Orders placed",
    "failed": "Failed",
    "p50": "p50 (s)",
    "p99": "p99 (s)",
}


def chart(series: Series, *, bars: bool, label_every: int) -> Markup:
    """`series` drawn as bars (a day of hours) or lines (a week of hours), an x label
    every `label_every` hours of the clock (24: each midnight, named by its day); "No
    data" when a service did not answer."""
    kind = pygal.Bar if bars else pygal.Line
    drawn = kind(
        style=STYLE,
        width=WIDTH,
        height=HEIGHT,
        js=[],
        disable_xml_declaration=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=len(series.lines) or 1,
        include_x_axis=True,
        truncate_label=-1,
        allow_interruptions=True,
        show_dots=bars,
        dots_size=3,
        stroke_style={"width": 2.5},
        min_scale=2,
        max_scale=5,
        no_data_text="No data",
        margin=8,
        spacing=8,
    )
    # The hours of the clock divisible by `label_every` are named (a week's midnights),
    # the others left blank: a week has 168.
    drawn.x_labels = [
        _label(hour, label_every) if hour.hour % label_every == 0 else "" for hour in series.hours
    ]
    for name, values in series.lines.items():
        drawn.add(NAMES.get(name, name), values)
    tree = drawn.render_tree()
    for parent in tree.iter():
        for child in [c for c in parent if c.tag in ("script", f"{{{_SVG}}}script")]:
            parent.remove(child)
    svg = ElementTree.tostring(tree, encoding="unicode")
    # pygal's own drawing, its labels our hour labels and series names, no input of anyone's.
    return Markup(svg)  # noqa: S704


def _label(hour: datetime, every: int) -> str:
    return hour.strftime("%H:00") if every < 24 else hour.strftime("%a %d")
