"""Renders a Mermaid gantt chart (stdin) with a real Mermaid engine (PyPI's mermaidx: Mermaid
11 in QuickJS) and prints each task bar as JSON: its label, x and width in the SVG. With
--ticks, it prints the time axis's labels instead (the engine draws them in the time zone of
its environment, TZ)."""
import json
import re
import sys

import mermaidx

svg = mermaidx.render(sys.stdin.read()).svg()
if sys.argv[1:] == ["--ticks"]:
    print(json.dumps(re.findall(r'<g class="tick"[^>]*>.*?<text[^>]*>([^<]*)</text>', svg, re.S)))
    sys.exit(0)
def attr(tag, name):
    return float(re.search(r'\s%s="([-\d.]+)"' % name, tag).group(1))


rects = {
    m.group(1): (attr(m.group(0), "x"), attr(m.group(0), "width"))
    for m in re.finditer(r'<rect id="[^"]*-(task\d+)"[^>]*>', svg)
}
texts = {
    m.group(1): m.group(2).strip()
    for m in re.finditer(r'<text id="[^"]*-(task\d+)-text"[^>]*>([^<]*)</text>', svg)
}
# In the order the chart defines them (Mermaid numbers its tasks so).
order = sorted(rects, key=lambda k: int(k[len("task"):]))
print(json.dumps([{"label": texts.get(k, ""), "x": rects[k][0], "width": rects[k][1]} for k in order]))
