"""The usage report as one self-contained HTML page: its table and its charts, drawn as inline SVG.

The charts are Vega-Altair specifications rendered to SVG by vl-convert (no browser, no network), so the
page loads nothing: it opens offline, from a mail attachment or an artifact store (the ``report`` extra).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_redshift_s3.usage_costs import UsageReport

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
    "td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}"
    "td:first-child,th:first-child,td:nth-child(2){text-align:left}figure{margin:1.5em 0}"
    ".note{color:#555;font-size:.9em}"
)
_COLUMNS = ("table", "day", "copies", "failed", "files", "rows", "bytes", "seconds", "cross_region_bytes")


def charts(report: UsageReport) -> dict[str, Any]:
    """Return the Altair charts: rows and duration per day per table, failures per day by category."""
    import altair as alt

    rows = [r.to_dict() for r in report.rows]
    failures = [
        {"day": r.day.isoformat(), "table": r.table, "category": category, "failed": count}
        for r in report.rows
        for category, count in sorted(r.failures.items())
    ]

    def per_table(field: str, title: str) -> Any:
        return (
            alt.Chart(alt.InlineData(values=rows), title=title, width=480, height=220)
            .mark_bar()
            .encode(
                x=alt.X("day:O", title="day"),
                xOffset="table:N",
                y=alt.Y(f"{field}:Q", title=title),
                color=alt.Color("table:N", title="table"),
                tooltip=["table:N", "day:O", f"{field}:Q"],
            )
        )

    failed = (
        alt.Chart(
            alt.InlineData(values=failures), title="Failed COPYs per day by category", width=480, height=220
        )
        .mark_bar()
        .encode(
            x=alt.X("day:O", title="day"),
            y=alt.Y("sum(failed):Q", title="failed COPYs"),
            color=alt.Color("category:N", title="category"),
            tooltip=["day:O", "category:N", "table:N", "failed:Q"],
        )
    )
    return {
        "rows": per_table("rows", "Rows loaded per day and table"),
        "seconds": per_table("seconds", "COPY seconds per day and table"),
        "failures": failed,
    }


def render_svg(chart: Any) -> str:
    """Return the chart as an SVG document, rendered without a browser or the network."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(chart.to_dict()))


def page(report: UsageReport, title: str) -> str:
    """Return the report as one HTML document with its charts inline."""
    from airflow_redshift_s3.usage_costs import format_costs

    figures = []
    for name, chart in charts(report).items():
        empty = not report.rows if name != "failures" else not any(r.failures for r in report.rows)
        body = '<p class="note">nothing to draw</p>' if empty else render_svg(chart)
        figures.append(f'<figure id="chart-{name}">{body}</figure>')
    head = "".join(f"<th>{html.escape(c)}</th>" for c in (*_COLUMNS, "failures"))
    lines = []
    for row in report.rows:
        values = row.to_dict()
        failures = ", ".join(f"{c}: {n}" for c, n in values["failures"].items()) or "-"
        cells = "".join(f"<td>{html.escape(str(values[c]))}</td>" for c in _COLUMNS)
        lines.append(f"<tr>{cells}<td>{html.escape(failures)}</td></tr>")
    notes = "".join(f'<p class="note">{html.escape(line)}</p>' for line in format_costs(report))
    problems = "".join(f'<p class="note">not read: {html.escape(p)}</p>' for p in report.problems)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f'<table id="usage"><thead><tr>{head}</tr></thead><tbody>{"".join(lines)}</tbody></table>'
        f"{notes}{''.join(figures)}{problems}</body></html>\n"
    )


def write_html(report: UsageReport, path: str | Path, title: str = "Loads from S3 into Redshift") -> Path:
    """Write the report's HTML page to ``path`` (its folder created) and return its absolute path."""
    target = Path(path).expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page(report, title), encoding="utf-8")
    return target
