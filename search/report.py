"""What a search leaves in its directory, drawn: ``pareto.png``, ``convergence.png`` and
one self-contained ``report.html``.

::

    import hwnas

    result.save("out/")                 # search.json, pareto.csv, history.parquet, PNGs
    page = hwnas.report("out/")         # = hwnas.search.report.write_report: out/report.html

The report needs nothing but the directory: ``search.json`` (settings, versions,
predictors, convergence, verify rounds) and, when present, ``history.parquet`` (every
architecture evaluated). Its plots are plotly figures whose JavaScript is inlined, so the
page opens offline; hovering a point shows the architecture, its accuracy and its
predicted (and measured) values. Degenerate architectures (NB201 cells whose output never
sees the input: chance accuracy) are listed in the tables but left out of the plots, whose
axes they would otherwise stretch; a note under each plot says how many.
"""

from __future__ import annotations

import html
import math
import os
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hwnas.errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

    from hwnas.search.api import SearchResult

__all__ = ["REPORT", "convergence_png", "pareto_png", "report", "software_versions", "write_report"]

#: The page ``write_report`` writes into the result's directory.
REPORT = "report.html"
#: Packages whose versions ``search.json`` records.
VERSIONED = ("hwnas", "numpy", "pandas", "onnxruntime", "lightgbm", "pymoo")
#: The most evaluated architectures the interactive plot draws (a seeded sample beyond).
MAX_CLOUD = 8000


def software_versions() -> dict[str, str]:
    """Python's version and those of :data:`VERSIONED` ("unknown" where not installed)."""
    found = {"python": platform.python_version()}
    for package in VERSIONED:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "unknown"
    return found


def _shown(result: SearchResult, cands: Sequence[Any]) -> tuple[list[Any], int]:
    """The candidates a plot draws (the degenerate ones left out) and how many were."""
    flagged = set(result.degenerate)
    kept = [c for c in cands if c.arch not in flagged]
    return kept, len(cands) - len(kept)


def pareto_png(result: SearchResult, file: Path) -> None:
    """Accuracy against the first metric: the Pareto set, random search and the budget,
    degenerate architectures left out (a note says how many). Drawn on a bare ``Figure``
    (no pyplot), so a notebook's backend is left alone."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    x = result.metrics[0] if result.metrics else None
    hidden = 0
    if x:
        for cands, label, style in (
            (result.baseline, "random search", "x"),
            (result.pareto, f"{result.strategy_used} Pareto set", "o"),
        ):
            kept, left_out = _shown(result, cands)
            hidden += left_out
            ax.plot([c.metrics[x] for c in kept], [c.accuracy for c in kept], style, label=label)
        if x in result.budgets:
            bound = result.budgets[x]
            ax.axvline(bound, color="red", linestyle="--", label=f"budget {bound:g}")
        ax.set_xlabel(f"{x} (predicted)")
        ax.legend()
    if hidden:
        note = f"{hidden} degenerate architecture(s) (chance accuracy) not shown"
        ax.set_title(note, fontsize=8)
    ax.set_ylabel("accuracy")
    fig.tight_layout()
    fig.savefig(file, dpi=100)


def convergence_png(result: SearchResult, file: Path) -> None:
    """Hypervolume of the predicted front by predictor queries, one line per verify round,
    random search's dashed (a level line at its final value where it drew nothing)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for label, rows in _rounds(result):
        x = [r["evaluated"] for r in rows]
        line = ax.plot(x, [r["hypervolume"] for r in rows], "o-", label=label, markersize=3)
        theirs = [r["random_search_hypervolume"] for r in rows]
        if all(v is not None for v in theirs):
            color = line[0].get_color()
            ax.plot(x, theirs, "--", color=color, label=f"random search ({label})")
    if not any(r["random_search_hypervolume"] is not None for r in result.convergence):
        level = result.random_search_hypervolume
        ax.axhline(level, color="grey", linestyle="--", label=f"random search ({level:.4g})")
    ax.set_xlabel("predictor queries (distinct architectures)")
    ax.set_ylabel("hypervolume (predicted front)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(file, dpi=100)


def _rounds(result: SearchResult) -> list[tuple[str, list[dict[str, Any]]]]:
    """The convergence rows by verify round (one group, named after the strategy, without)."""
    rounds = sorted({r.get("round") for r in result.convergence}, key=lambda v: v or 0)
    if rounds == [None] or not rounds:
        return [(result.strategy_used, list(result.convergence))] if result.convergence else []
    return [(f"round {k}", [r for r in result.convergence if r.get("round") == k]) for k in rounds]


def write_report(path: str | os.PathLike[str]) -> Path:
    """Write ``report.html`` into the directory ``path`` that ``hwnas search -o`` (or
    ``SearchResult.save``) filled, and return the file. The page is self-contained (the
    plots' JavaScript inlined, no network): settings, the Pareto table (predicted and
    measured), an interactive Pareto plot, the convergence plot and the verify rounds.
    ``ParameterError`` (of ``path``) when the directory holds no ``search.json``."""
    from hwnas.search.api import SUMMARY, SearchResult

    directory = Path(path)
    if not (directory / SUMMARY).is_file():
        raise ParameterError(
            "path",
            f"{directory} holds no {SUMMARY}: run `hwnas search ... -o {directory}` (or "
            f"SearchResult.save) first, then report on that directory",
        )
    result = SearchResult.load(directory)
    page = directory / REPORT
    page.write_text(render_html(result), encoding="utf-8")
    return page


#: ``hwnas.report(dir)``: the same function under the name the package exports.
report = write_report


def render_html(result: SearchResult) -> str:
    """The report of ``result`` as one HTML document (see :func:`write_report`)."""
    pareto_plot = _pareto_figure(result).to_html(
        full_html=False, include_plotlyjs=True, div_id="pareto-plot", config=_CONFIG
    )
    parts = [
        _section("Settings", _table(_settings(result), ["setting", "value"], "settings")),
        _section("Pareto set", _pareto_table(result) + _why_empty(result)),
        _section("Accuracy against " + _x_title(result), pareto_plot + _hidden_note(result)),
    ]
    if result.convergence:
        convergence = _convergence_figure(result).to_html(
            full_html=False, include_plotlyjs=False, div_id="convergence-plot", config=_CONFIG
        )
        parts.append(_section("Convergence", convergence))
    if result.verify:
        parts.append(_section("Verify rounds", _verify_table(result)))
    parts.append(_section("Predictors and versions", _provenance(result)))
    title = f"hwnas search: {result.space}, {result.strategy_used}"
    return _PAGE.format(title=html.escape(title), body="\n".join(parts))


_CONFIG = {"displaylogo": False, "responsive": True}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; padding: 0 1em; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.2em; margin-top: 2em; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }}
th {{ background: #f3f3f3; text-align: left; }}
td.arch, td.text {{ text-align: left; font-family: ui-monospace, monospace; }}
tr.degenerate td {{ color: #999; }}
p.note {{ color: #666; font-size: 0.85em; }}
</style>
</head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"""


def _section(title: str, content: str) -> str:
    return f"<section>\n<h2>{html.escape(title)}</h2>\n{content}\n</section>"


def _cell(value: Any) -> str:
    """A table cell: numbers to 4 significant digits, NaN and None empty, text escaped."""
    if isinstance(value, bool):
        return f'<td class="text">{"yes" if value else ""}</td>'
    if isinstance(value, int | float):
        shown = "" if isinstance(value, float) and math.isnan(value) else f"{value:.4g}"
        return f"<td>{shown}</td>"
    if value is None:
        return "<td></td>"
    return f'<td class="text">{html.escape(str(value))}</td>'


def _table(
    rows: Sequence[Sequence[Any]],
    header: Sequence[str],
    table_id: str,
    *,
    row_class: Sequence[str] | None = None,
) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_class[i]}"' if row_class and row_class[i] else ""
        cells = "".join(_cell(v) for v in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return (
        f'<table id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>\n{chr(10).join(body)}\n</tbody></table>"
    )


def _settings(result: SearchResult) -> list[tuple[str, Any]]:
    """What was searched and how, as (setting, value) rows."""
    budgets = ", ".join(f"{m} <= {b:g}" for m, b in sorted(result.budgets.items()))
    ran = result.strategy_used
    rows: list[tuple[str, Any]] = [
        ("space", result.space),
        ("accuracy", result.accuracy),
        ("metrics (predicted)", ", ".join(result.metrics)),
        ("budgets", budgets or "none"),
        ("budget quantile", "point prediction" if result.budget_quantile is None else None),
        ("strategy", ran if ran == result.strategy else f"{result.strategy}: {ran}"),
        ("population x generations", f"{result.population} x {result.generations}"),
        ("predictor queries (budget, spent)", f"{result.evaluations}, {result.evaluated}"),
        ("seed", str(result.seed)),
        ("hypervolume", result.hypervolume),
        ("random search hypervolume", result.random_search_hypervolume),
        ("seconds", result.seconds),
    ]
    if result.budget_quantile is not None:
        rows[4] = ("budget quantile", f"q{result.budget_quantile:g}")
    if result.verify:
        rows.append(("verified on", str(result.verify.get("device"))))
        rows.append(("device measurements", str(result.measurements)))
    return rows


def _pareto_table(result: SearchResult) -> str:
    """The Pareto set as ``to_frame`` has it, plus ``degenerate`` where a member is."""
    frame = result.to_frame()
    flagged = frame["arch"].isin(set(result.degenerate)).tolist()
    if any(flagged):
        frame["degenerate"] = flagged
    header = [_column_title(c) for c in frame.columns]
    rows = [list(r) for r in frame.itertuples(index=False)]
    classes = ["degenerate" if f else "" for f in flagged]
    return _table(rows, header, "pareto-table", row_class=classes)


def _column_title(column: str) -> str:
    if column.endswith("_measured"):
        return f"{column.removesuffix('_measured')} (measured)"
    if column in ("arch", "accuracy", "degenerate") or "_q" in column:
        return column
    return f"{column} (predicted)"


def _why_empty(result: SearchResult) -> str:
    if result.pareto:
        return ""
    return f'<p class="note">{html.escape(result.reason or "no architecture met the budgets")}</p>'


def _x_title(result: SearchResult) -> str:
    return result.metrics[0] if result.metrics else "nothing"


def _hidden_note(result: SearchResult) -> str:
    count = len(set(result.degenerate) & {c.arch for c in result.pareto})
    if not count:
        return ""
    return (
        f'<p class="note">{count} degenerate Pareto member(s) (output never sees the input: '
        f"chance accuracy) are in the table but not drawn, so they do not stretch the axes.</p>"
    )


def _verify_table(result: SearchResult) -> str:
    assert result.verify is not None
    final = {}
    for row in result.convergence:
        final[row.get("round")] = row["hypervolume"]
    header = ["round", "predicted front", "measured", "over budget", "failed", "hypervolume"]
    rows = [
        [
            r.get("round"),
            r.get("predicted_front"),
            r.get("measured"),
            r.get("over_budget"),
            r.get("failed", 0),
            final.get(r.get("round"), math.nan),
        ]
        for r in result.verify.get("per_round", [])
    ]
    stopped = result.verify.get("stopped")
    note = f'<p class="note">stopped early: {html.escape(str(stopped))}</p>' if stopped else ""
    if result.verify.get("advice"):
        note += f'<p class="note">{html.escape(str(result.verify["advice"]))}</p>'
    before = result.verify.get("measured_before", 0)
    intro = (
        f'<p class="note">{result.measurements} device measurement(s) on '
        f"{html.escape(str(result.verify.get('device')))} besides {before} measured before; "
        f"hypervolume: of each round's predicted front.</p>"
    )
    return intro + _table(rows, header, "verify-table") + note


def _provenance(result: SearchResult) -> str:
    rows = [
        (f"predictor {metric}", ", ".join(f"{k}={v}" for k, v in sorted(ident.items())))
        for metric, ident in sorted(result.predictors.items())
    ]
    rows += [(f"version {name}", value) for name, value in sorted(result.versions.items())]
    return _table(rows, ["what", "value"], "provenance")


# -- the interactive figures (plotly, its JavaScript inlined) ---------------------------


def _evaluated_cloud(result: SearchResult) -> pd.DataFrame:
    """The architectures the last round evaluated, degenerate ones left out (a seeded
    sample of :data:`MAX_CLOUD` where there are more)."""
    frame = result.evaluated_frame()
    if frame.empty:
        return frame
    if "round" in frame:
        frame = frame[frame["round"] == frame["round"].max()]
    frame = frame[~frame["degenerate"].astype(bool)]
    if len(frame) > MAX_CLOUD:
        frame = frame.sample(MAX_CLOUD, random_state=0)
    return frame


def _hover(result: SearchResult, rows: Sequence[dict[str, Any]]) -> tuple[list[list[str]], str]:
    """Per point: architecture, accuracy, each metric predicted (and measured), as
    ``customdata`` and the ``hovertemplate`` that shows it."""
    data = []
    for row in rows:
        values = [f"{m}: {_g(row.get(m))} predicted" for m in result.metrics]
        for m in result.metrics:
            got = row.get(f"{m}_measured")
            if got is not None and not (isinstance(got, float) and math.isnan(got)):
                values.append(f"{m}: {_g(got)} measured")
        data.append([str(row["arch"]), _g(row.get("accuracy")), "<br>".join(values)])
    template = "%{customdata[0]}<br>accuracy %{customdata[1]}<br>%{customdata[2]}<extra></extra>"
    return data, template


def _g(value: Any) -> str:
    return "" if value is None else f"{float(value):.4g}"


def _pareto_figure(result: SearchResult) -> Any:
    """Accuracy against the first metric: every architecture evaluated (faint), the
    Pareto set predicted and, after verify, measured; the budget as a dashed line."""
    import plotly.graph_objects as go

    fig = go.Figure()
    x = _x_title(result)
    cloud = _evaluated_cloud(result)
    if not cloud.empty and x in cloud:
        records = [{str(k): v for k, v in r.items()} for r in cloud.to_dict("records")]
        data, template = _hover(result, records)
        fig.add_trace(
            go.Scatter(
                x=cloud[x],
                y=cloud["accuracy"],
                mode="markers",
                name="evaluated",
                marker={"size": 4, "color": "rgba(120,120,120,0.35)"},
                customdata=data,
                hovertemplate=template,
            )
        )
    _add_pareto_traces(fig, result, x)
    if x in result.budgets:
        fig.add_vline(x=result.budgets[x], line_dash="dash", line_color="red")
    fig.update_layout(
        xaxis_title=f"{x}",
        yaxis_title="accuracy",
        height=520,
        hovermode="closest",
        legend={"orientation": "h", "y": -0.15},
        margin={"t": 30},
    )
    return fig


def _add_pareto_traces(fig: Any, result: SearchResult, x: str) -> None:
    """The Pareto set at its predicted values, and at its measured ones where measured
    (each predicted point joined to its measured one); degenerate members left out."""
    import plotly.graph_objects as go

    if x not in result.metrics:
        return
    kept, _ = _shown(result, result.pareto)
    rows = [
        {
            "arch": c.arch,
            "accuracy": c.accuracy,
            **c.metrics,
            **{f"{m}_measured": v for m, v in c.measured.items()},
        }
        for c in kept
    ]
    data, template = _hover(result, rows)
    fig.add_trace(
        go.Scatter(
            x=[c.metrics[x] for c in kept],
            y=[c.accuracy for c in kept],
            mode="markers",
            name="Pareto set (predicted)",
            marker={"size": 9, "color": "#1f77b4", "line": {"width": 1, "color": "white"}},
            customdata=data,
            hovertemplate=template,
        )
    )
    measured = [(c, d) for c, d in zip(kept, data, strict=True) if x in c.measured]
    if not measured:
        return
    fig.add_trace(
        go.Scatter(
            x=[c.measured[x] for c, _ in measured],
            y=[c.accuracy for c, _ in measured],
            mode="markers",
            name="Pareto set (measured)",
            marker={"size": 10, "symbol": "diamond", "color": "#ff7f0e"},
            customdata=[d for _, d in measured],
            hovertemplate=template,
        )
    )
    for c, _ in measured:
        fig.add_shape(
            type="line",
            x0=c.metrics[x],
            x1=c.measured[x],
            y0=c.accuracy,
            y1=c.accuracy,
            line={"color": "rgba(255,127,14,0.5)", "width": 1},
        )


def _convergence_figure(result: SearchResult) -> Any:
    """Hypervolume of the predicted front by predictor queries, per verify round, with
    random search's after as many queries (dashed; a level line where it drew nothing)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for label, rows in _rounds(result):
        x = [r["evaluated"] for r in rows]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[r["hypervolume"] for r in rows],
                mode="lines+markers",
                name=label,
                customdata=[r["generation"] for r in rows],
                hovertemplate="generation %{customdata}<br>%{x} queries<br>"
                "hypervolume %{y:.4g}<extra></extra>",
            )
        )
        theirs = [r["random_search_hypervolume"] for r in rows]
        if all(v is not None for v in theirs):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=theirs,
                    mode="lines",
                    name=f"random search ({label})",
                    line={"dash": "dash"},
                )
            )
    if not any(r["random_search_hypervolume"] is not None for r in result.convergence):
        level = result.random_search_hypervolume
        fig.add_hline(y=level, line_dash="dash", line_color="grey")
        fig.add_annotation(
            x=1,
            xref="paper",
            y=level,
            text=f"random search {level:.4g}",
            showarrow=False,
            xanchor="right",
            yanchor="bottom",
        )
    fig.update_layout(
        xaxis_title="predictor queries (distinct architectures)",
        yaxis_title="hypervolume (predicted front)",
        height=420,
        margin={"t": 30},
    )
    return fig
