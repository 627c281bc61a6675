"""The evaluation's text tables: one run's rows, and the mean ± std over several seeds."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from recsys.evaluation.harness import METRIC_COLUMNS, SHUFFLED, Report


def format_table(report: Report) -> str:
    """The report as a fixed-width text table (one row per model x protocol x k x list)."""
    header = ["model", "protocol", "k", "list", *METRIC_COLUMNS, "distinct@10", "users"]
    lines = [header]
    for row in report.rows:
        cells = [row["model"], row["protocol"], "-" if row["k"] is None else str(row["k"]),
                 "shuffled" if row["list"] == SHUFFLED else "strict"]
        for metric in METRIC_COLUMNS:
            value = row.get(metric)
            cells.append("-" if value is None else f"{value:.4f}")
        cells.append(str(row.get("distinct@10", "-")))
        cells.append(str(row["users"]))
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)


SUMMARY_METRICS = [*METRIC_COLUMNS, "distinct@10"]


def summarize(reports: Sequence[Report]) -> list[dict]:
    """Mean and sample standard deviation (ddof=1; 0 for one seed) of every metric over reports
    of the same models and protocols under different seeds.

    Returns:
        one dict per (model, protocol, k, list), in the first report's row order:
        ``{"model", "protocol", "k", "list", "seeds", <metric>: {"mean", "std"} | None, ...}``.
    """
    if not reports:
        raise ValueError("nothing to summarise")
    groups: dict[tuple, list[dict]] = {}
    for report in reports:
        for row in report.rows:
            groups.setdefault((row["model"], row["protocol"], row["k"], row["list"]), []).append(row)
    out = []
    for (model, protocol, reveal_k, variant), rows in groups.items():
        summary = {"model": model, "protocol": protocol, "k": reveal_k, "list": variant, "seeds": len(rows)}
        for metric in SUMMARY_METRICS:
            values = [row.get(metric) for row in rows]
            if any(v is None for v in values):
                summary[metric] = None
                continue
            values = np.asarray(values, dtype=np.float64)
            summary[metric] = {"mean": float(values.mean()),
                               "std": float(values.std(ddof=1)) if values.size > 1 else 0.0}
        out.append(summary)
    return out


def format_summary(summary: Sequence[Mapping], metrics_shown: Sequence[str] = (
        "rmse", "ndcg@10", "hit_rate@10", "mrr@10", "coverage@10", "novelty@10", "distinct@10")) -> str:
    """The multi-seed summary as a fixed-width table of ``mean ± std`` cells."""
    header = ["model", "protocol", "k", "list", "seeds", *metrics_shown]
    lines = [header]
    for row in summary:
        cells = [row["model"], row["protocol"], "-" if row["k"] is None else str(row["k"]),
                 "shuffled" if row["list"] == SHUFFLED else "strict", str(row["seeds"])]
        for metric in metrics_shown:
            value = row.get(metric)
            digits = 1 if metric == "distinct@10" else 4
            cells.append("-" if value is None else f"{value['mean']:.{digits}f} ± {value['std']:.{digits}f}")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)
