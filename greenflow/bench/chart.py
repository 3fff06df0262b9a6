"""A chart of benchmark runs as one self-contained SVG file (any browser opens it).

For each run: completions per second over time (a line) and the latency histogram (bars).
No plotting library: the SVG is written by hand, so the chart needs nothing installed.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

__all__ = ["render_svg"]

_PANEL_W, _PANEL_H, _PAD = 460, 220, 48


def _axis(x: float, y: float, w: float, h: float, x_label: str, y_label: str, x_max: float, y_max: float) -> list[str]:
    parts = [f'<line x1="{x}" y1="{y + h}" x2="{x + w}" y2="{y + h}" stroke="#333"/>',
             f'<line x1="{x}" y1="{y}" x2="{x}" y2="{y + h}" stroke="#333"/>',
             f'<text x="{x + w / 2}" y="{y + h + 32}" text-anchor="middle">{html.escape(x_label)}</text>',
             f'<text x="{x - 36}" y="{y + h / 2}" text-anchor="middle" '
             f'transform="rotate(-90 {x - 36} {y + h / 2})">{html.escape(y_label)}</text>']
    for i in range(5):
        fx = x + w * i / 4
        fy = y + h - h * i / 4
        parts.append(f'<text x="{fx}" y="{y + h + 14}" text-anchor="middle" font-size="10">{x_max * i / 4:.3g}</text>')
        parts.append(f'<text x="{x - 4}" y="{fy + 3}" text-anchor="end" font-size="10">{y_max * i / 4:.3g}</text>')
    return parts


def _throughput(completions: Sequence[float], bins: int = 40) -> tuple[list[float], float]:
    end = max(completions) if completions else 1.0
    width = end / bins if end > 0 else 1.0
    counts = [0] * bins
    for t in completions:
        counts[min(bins - 1, int(t / width))] += 1
    return [c / width for c in counts], end


def render_svg(runs: Sequence[Any], title: str = "greenflow bench") -> str:
    """An SVG document: one row per run (``RunResult``), throughput over time and latency histogram."""
    height = _PAD + len(runs) * (_PANEL_H + 2 * _PAD)
    width = 2 * (_PANEL_W + 2 * _PAD)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="16">{html.escape(title)}</text>']
    for row, run in enumerate(runs):
        top = _PAD + row * (_PANEL_H + 2 * _PAD)
        summary = run.summary()
        out.append(f'<text x="{_PAD}" y="{top - 8}" font-weight="bold">{html.escape(run.label)}: '
                   f'{summary["completed"]}/{run.count} workflows in {run.elapsed:.2f} s, '
                   f'{summary["workflows_per_s"]} wf/s, p50 {summary["latency_ms"]["p50"]} ms</text>')
        rates, end = _throughput(run.completions)
        x0, y0 = _PAD + 8, top + 8
        peak = max(rates) if rates and max(rates) > 0 else 1.0
        out += _axis(x0, y0, _PANEL_W, _PANEL_H - 16, "seconds", "workflows/s", end, peak)
        if rates:
            points = " ".join(f"{x0 + _PANEL_W * (i + 0.5) / len(rates):.1f},"
                              f"{y0 + (_PANEL_H - 16) * (1 - r / peak):.1f}" for i, r in enumerate(rates))
            out.append(f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
        latencies = [v * 1000 for v in run.latencies]
        x1 = x0 + _PANEL_W + 2 * _PAD
        bins = 30
        top_ms = max(latencies) if latencies else 1.0
        step = top_ms / bins if top_ms > 0 else 1.0
        counts = [0] * bins
        for v in latencies:
            counts[min(bins - 1, int(v / step))] += 1
        tallest = max(counts) if counts and max(counts) > 0 else 1
        out += _axis(x1, y0, _PANEL_W, _PANEL_H - 16, "latency, ms (start to result)", "workflows", top_ms, tallest)
        bar = _PANEL_W / bins
        for i, c in enumerate(counts):
            h = (_PANEL_H - 16) * c / tallest
            if c:
                out.append(f'<rect x="{x1 + i * bar:.1f}" y="{y0 + _PANEL_H - 16 - h:.1f}" '
                           f'width="{max(1.0, bar - 1):.1f}" height="{h:.1f}" fill="#ff7f0e"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
