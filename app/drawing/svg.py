"""Graphviz `dot` run on a view's DOT text, and its SVG made ready to sit inside the page.

`dot` runs as a subprocess (input on stdin, a timeout, no shell); a missing `dot`, a failure
or a timeout is a DrawingFailed with a sentence for the page, never an error of the request.
Its SVG is then tidied with ElementTree: titles and ids that would repeat across the page's
several drawings go, each node keeps one id (`gn17` for report.layers[17], `gf3` for group 3),
and a node's third line becomes one line per overlay, of which the page's switch shows one.
The error lines stay empty here: the check may end after the drawing is kept, so the page
fills them in (`fill_errors`), which needs no `dot`.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Mapping

DOT_TIMEOUT_S = 20.0
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)
FONT = "Helvetica,Arial,sans-serif"  # as app.drawing.dot asks for it
OVERLAYS = ("class", "params", "macs", "error")
ERROR_LINE = re.compile(r'<text class="v v-error" data-e="(\w+)"([^>]*?) />')  # as tidy writes it
NODE_OPEN = re.compile(r'<g id="g(\w+)" class="([^"]*)"')


class DrawingFailed(Exception):
    """`dot` is missing, failed or took too long: the page says so instead of a drawing."""


def run_dot(dot_texts: list[str], timeout_s: float = DOT_TIMEOUT_S) -> list[bytes]:
    """`dot -Tsvg` on several graphs at once: each one's SVG. One run for all the views of a
    model: starting `dot` takes longer than laying out a view (80 ms against 3 ms on
    EfficientNetB0's), so 17 runs took 1.4 s and one takes 0.12 s."""
    program = shutil.which("dot")
    if program is None:
        raise DrawingFailed("Graphviz is not installed on this server (no `dot` program).")
    try:
        done = subprocess.run(
            [program, "-Tsvg"],
            input="\n".join(dot_texts).encode("utf-8", errors="replace"),
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DrawingFailed(f"Graphviz took longer than {timeout_s:g} s to draw it.") from exc
    svgs = [b"<?xml" + part for part in done.stdout.split(b"<?xml")[1:]]
    if done.returncode != 0 or len(svgs) != len(dot_texts):
        raise DrawingFailed("Graphviz could not draw it.")
    return svgs


def tidy(svg: bytes, values: Mapping[str, Mapping[str, str]], label: str) -> str:
    """The SVG for the page. `values` maps a node's id (`n17`, `f3`) to its overlay lines."""
    root = ET.fromstring(svg)
    root.attrib.pop("id", None)
    root.set("class", "graph-svg")
    root.set("role", "group")
    root.set("aria-label", label)
    root.set("font-family", FONT)
    root.set("font-size", "10")
    root.set("text-anchor", "middle")
    _drop_titles(root)
    for element in root.iter():
        if element.tag == f"{{{SVG_NS}}}g":
            _tidy_group(element, values)
        elif element.tag == f"{{{SVG_NS}}}text":
            _inherit_font(element)
    return ET.tostring(root, encoding="unicode")


def _inherit_font(text: ET.Element) -> None:
    """Every label is in the one font the root sets, centred: 80 bytes less per line."""
    if text.get("font-family") == FONT and text.get("font-size") == "10.00":
        del text.attrib["font-family"], text.attrib["font-size"]
    if text.get("text-anchor") == "middle":
        del text.attrib["text-anchor"]


def _drop_titles(root: ET.Element) -> None:
    """Graphviz titles name our node ids (`n17`): a browser would show them on hover."""
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == f"{{{SVG_NS}}}title":
                parent.remove(child)


def _tidy_group(group: ET.Element, values: Mapping[str, Mapping[str, str]]) -> None:
    node = group.get("id", "")[1:] if group.get("id", "").startswith("g") else ""
    if node not in values:
        group.attrib.pop("id", None)  # graph0, edge1, a_gn17: they would repeat on the page
        return
    classes = group.get("class", "").split()
    group.attrib.clear()
    group.set("id", f"g{node}")
    group.set("class", " ".join(c for c in classes if c != "node"))
    texts = list(group.iter(f"{{{SVG_NS}}}text"))
    if len(texts) >= 3:
        _overlay_lines(group, texts[2], node, values[node])


def _overlay_lines(group: ET.Element, line: ET.Element, node: str, values: Mapping[str, str]):
    parent = next(p for p in group.iter() if line in list(p))
    at = list(parent).index(line)
    parent.remove(line)
    for offset, overlay in enumerate(OVERLAYS):
        text = ET.Element(f"{{{SVG_NS}}}text")
        text.set("class", f"v v-{overlay}")
        if overlay == "error":
            text.set("data-e", node)
        text.attrib.update({k: v for k, v in line.attrib.items() if k != "class"})
        text.text = values.get(overlay, "")
        parent.insert(at + offset, text)


def fill_errors(svg: str, lines: Mapping[str, str], shades: Mapping[str, int]) -> str:
    """The error line of each node (`n17` → "rel 3.1e-07"), and its error shade (`e0`–`e5`)
    as a class; a node without either keeps an empty line and no shade."""

    def line(match: re.Match) -> str:
        text = html.escape(lines.get(match[1], ""))
        return f'<text class="v v-error" data-e="{match[1]}"{match[2]}>{text}</text>'

    def shade(match: re.Match) -> str:
        bucket = shades.get(match[1])
        extra = f" e{bucket}" if bucket is not None else ""
        return f'<g id="g{match[1]}" class="{match[2]}{extra}"'

    return NODE_OPEN.sub(shade, ERROR_LINE.sub(line, svg))
