"""Renders Mermaid xychart-beta blocks (stdin, separated by lines of '---') with a real Mermaid
engine (PyPI's mermaidx: Mermaid 11 in QuickJS) and prints, per block, the points of its line
as JSON: [[x, y], ...] in the SVG (y grows downwards)."""
import json
import re
import sys

import mermaidx

out = []
for block in sys.stdin.read().split("\n---\n"):
    svg = mermaidx.render(block).svg()
    m = re.search(r'<g class="line-plot-0"><path d="([^"]*)"', svg)
    if not m:
        raise SystemExit("no line drawn for:\n" + block)
    pts = [[float(x), float(y)] for x, y in re.findall(r"[ML]\s*([-\d.]+)[ ,]([-\d.]+)", m.group(1))]
    out.append(pts)
print(json.dumps(out))
