"""The weekly or monthly report as one self-contained HTML page: inline CSS and SVG charts, no
scripts, nothing fetched, tables and inline styles so that a mail client shows it as a browser does."""

from __future__ import annotations

import html
from collections.abc import Sequence

from carecli.text.durations import humanize_seconds

WIDTH = 660  # the charts' width in pixels; the page is at most 700 wide
_FONT = "font-family:Helvetica,Arial,sans-serif"
OPENED, SOLVED = "#4a78b5", "#5aa469"
FIRST, RESOLUTION = "#4a78b5", "#c77c2e"
CSAT, NPS = "#5aa469", "#8e5ab5"
BETTER, WORSE, NEUTRAL = "#2e7d32", "#c62828", "#555555"


def clean(text: object) -> str:
    """Stored text made safe for the page: control characters dropped, then HTML-escaped."""
    value = "" if text is None else str(text)
    value = "".join(c for c in value if c in "\t\n" or not (ord(c) < 32 or 127 <= ord(c) < 160))
    return html.escape(value, quote=True)


def render(
    *,
    title: str,
    headline: Sequence[tuple[str, str, str, bool | None]],
    history: dict,
    lists: Sequence[tuple[str, Sequence[str]]],
) -> str:
    """The page. `headline` holds (label, value, "was ..., change", better?) as the text report
    words them; `history` is `reports.history`; `lists` are (heading, lines) of plain text."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{clean(title)}</title></head>",
        f'<body style="margin:0;padding:16px;background:#f4f4f4;{_FONT};color:#222">',
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="max-width:700px;margin:0 auto;background:#ffffff;border-collapse:collapse">',
        _heading(title),
        _section("Headline figures", _headline_table(headline)),
        _section(
            "Tickets opened and solved per day",
            _legend([("opened", OPENED), ("solved", SOLVED)]) + bar_chart(history["days"]),
        ),
        _section(
            "Median first reply and resolution",
            _legend([("first reply", FIRST), ("resolution", RESOLUTION)])
            + line_chart(
                history["periods"],
                [("first_response_median_s", "first-reply", FIRST), ("resolution_median_s", "resolution", RESOLUTION)],
                value_text=humanize_seconds,
                chart="medians",
            ),
        ),
        _section(
            "Customer satisfaction",
            _legend([("CSAT (mean, 1-5)", CSAT)])
            + line_chart(
                history["periods"], [("csat_mean", "csat", CSAT)], value_text=lambda v: f"{v:g}", chart="csat", low=1
            )
            + _legend([("NPS (-100 to 100)", NPS)])
            + line_chart(
                history["periods"],
                [("nps_score", "nps", NPS)],
                value_text=lambda v: f"{v:.0f}",
                chart="nps",
                low=-100,
                high=100,
            ),
        ),
    ]
    for heading, lines in lists:
        items = "".join(f'<li class="item" style="margin:2px 0">{clean(line)}</li>' for line in lines)
        body = f'<ul style="margin:0;padding-left:20px;font-size:14px">{items}</ul>' if lines else _muted("none")
        parts.append(_section(f"{heading} ({len(lines)})", body))
    parts.append(
        '<tr><td style="padding:12px 20px 20px;font-size:12px;color:#777">made by carecli</td></tr></table></body></html>'
    )
    return "\n".join(parts) + "\n"


def _heading(title: str) -> str:
    # "carecli weekly report: 2026-03-02 (2026-03-02 00:00 to ...)": the span goes on its own line.
    name, _, span = title.partition(" (")
    below = f'<p style="margin:4px 0 0;font-size:13px;color:#666">{clean(span.rstrip(")"))}</p>' if span else ""
    return (
        f'<tr><td style="padding:20px 20px 8px"><h1 style="margin:0;font-size:20px">{clean(name)}</h1>{below}</td></tr>'
    )


def _section(heading: str, body: str) -> str:
    return (
        f'<tr><td style="padding:12px 20px"><h2 style="margin:0 0 8px;font-size:16px;color:#333">{clean(heading)}</h2>'
        f"{body}</td></tr>"
    )


def _muted(text: str) -> str:
    return f'<p style="margin:0;color:#777;font-size:14px">{clean(text)}</p>'


def _legend(entries: Sequence[tuple[str, str]]) -> str:
    keys = "".join(
        f'<span style="display:inline-block;width:10px;height:10px;background:{colour};margin:0 4px 0 0"></span>'
        f'<span style="margin-right:14px">{clean(name)}</span>'
        for name, colour in entries
    )
    return f'<p style="margin:0 0 4px;font-size:13px;color:#444">{keys}</p>'


def _headline_table(rows: Sequence[tuple[str, str, str, bool | None]]) -> str:
    cells = []
    for index, (name, value, before, better) in enumerate(rows):
        colour = NEUTRAL if better is None else BETTER if better else WORSE
        shade = "#f7f7f7" if index % 2 else "#ffffff"
        cells.append(
            f'<tr class="figure" style="background:{shade}"><td style="padding:4px 8px">{clean(name)}</td>'
            f'<td style="padding:4px 8px;text-align:right;font-weight:bold;white-space:nowrap">{clean(value)}</td>'
            f'<td style="padding:4px 8px;color:{colour};font-size:13px">{clean(before)}</td></tr>'
        )
    return (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'style="border-collapse:collapse;font-size:14px">{"".join(cells)}</table>'
    )


def _svg(height: int, body: str, name: str) -> str:
    return (
        f'<svg class="chart" data-chart="{name}" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" style="display:block;max-width:100%">'
        f"{body}</svg>"
    )


def _short(label: str) -> str:
    # 2026-03-09 -> 03-09; 2026-W11 and 2026-03 stay as they are.
    return label[5:] if len(label) == 10 else label


def bar_chart(days: Sequence[dict]) -> str:
    """Opened and solved side by side for each day, the value over each bar."""
    height, top, bottom, left = 200, 18, 24, 8
    plot = height - top - bottom
    highest = max([1, *(d["opened"] for d in days), *(d["solved"] for d in days)])
    slot = (WIDTH - 2 * left) / max(1, len(days))
    bar = min(28.0, slot / 3)
    body = [f'<line x1="{left}" y1="{top + plot}" x2="{WIDTH - left}" y2="{top + plot}" stroke="#bbb"/>']
    for index, day in enumerate(days):
        x0 = left + index * slot + (slot - 2 * bar - 4) / 2
        for offset, (series, colour) in enumerate((("opened", OPENED), ("solved", SOLVED))):
            value = day[series]
            h = plot * value / highest
            x, y = x0 + offset * (bar + 4), top + plot - h
            body.append(
                f'<rect class="bar {series}" data-day="{clean(day["label"])}" data-value="{value}" x="{x:.1f}" '
                f'y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}"/>'
                f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="10" text-anchor="middle" fill="#444">'
                f"{value}</text>"
            )
        body.append(
            f'<text x="{left + index * slot + slot / 2:.1f}" y="{height - 8}" font-size="11" text-anchor="middle" '
            f'fill="#555">{clean(_short(day["label"]))}</text>'
        )
    return _svg(height, "".join(body), "daily")


def line_chart(
    points: Sequence[dict],
    series: Sequence[tuple[str, str, str]],
    *,
    value_text,
    chart: str,
    low: float = 0,
    high: float | None = None,
) -> str:
    """One line per (key, name, colour) over the periods; a period without a value has no point
    and breaks the line."""
    height, top, bottom, left = 170, 18, 24, 30
    plot = height - top - bottom
    values = [p[key] for p in points for key, _, _ in series if p[key] is not None]
    if not values:
        return _muted("no data in these periods")
    floor = min([low, *values])
    ceiling = high if high is not None else max(values) * 1.15 or 1
    span = (ceiling - floor) or 1
    step = (WIDTH - 2 * left) / max(1, len(points) - 1)

    def y_of(value: float) -> float:
        return top + plot - plot * (value - floor) / span

    body = [f'<line x1="{left}" y1="{top + plot}" x2="{WIDTH - left}" y2="{top + plot}" stroke="#bbb"/>']
    if floor < 0 < ceiling:
        body.append(f'<line x1="{left}" y1="{y_of(0):.1f}" x2="{WIDTH - left}" y2="{y_of(0):.1f}" stroke="#ddd"/>')
    for index, point in enumerate(points):
        x = left + index * step if len(points) > 1 else WIDTH / 2
        body.append(
            f'<text x="{x:.1f}" y="{height - 8}" font-size="11" text-anchor="middle" fill="#555">'
            f"{clean(_short(point['label']))}</text>"
        )
    for key, name, colour in series:
        run: list[str] = []
        runs = [run]
        for index, point in enumerate(points):
            value = point[key]
            if value is None:
                run = []
                runs.append(run)
                continue
            x = left + index * step if len(points) > 1 else WIDTH / 2
            y = y_of(value)
            run.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle class="point {name}" data-period="{clean(point["label"])}" data-value="{value}" '
                f'cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>'
                f'<text x="{x:.1f}" y="{y - 7:.1f}" font-size="10" text-anchor="middle" fill="{colour}">'
                f"{clean(value_text(value))}</text>"
            )
        for kept in runs:
            if len(kept) > 1:
                body.append(f'<polyline points="{" ".join(kept)}" fill="none" stroke="{colour}" stroke-width="2"/>')
    return _svg(height, "".join(body), chart)
