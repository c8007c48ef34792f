"""Draw precision@k and NDCG@k per recommender (k = 1..20) as an SVG the docs site shows.

Reads ``ml_recommender_metric_curves`` from the local target's warehouse (run it while no
dbt command runs: the embedded Derby metastore admits one process at a time), or from a
Spark Connect server with ``--connect``, and writes ``assets/recommender_metrics.svg``,
which ``dbt docs generate`` copies (``asset-paths``) for the overview page::

    python -m python_jobs.tools.metric_chart --title "ml-100k, stratified 75/25"
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

from python_jobs.spark import (
    PROJECT_ROOT,
    STORAGE_SETTINGS,
    build_spark_session,
    local_profile_conf,
)

DEFAULT_OUT = PROJECT_ROOT / "assets" / "recommender_metrics.svg"
PANELS = (("precision_at_k", "precision@k"), ("ndcg_at_k", "NDCG@k"))
COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
WIDTH, HEIGHT, MARGIN = 460, 320, 48

Curves = Mapping[str, Sequence[tuple[int, float, float]]]  # recommender -> (k, precision, ndcg)


def svg(curves: Curves, *, title: str = "") -> str:
    """Two side-by-side line panels, precision@k and NDCG@k, one line per recommender."""
    if not curves:
        raise ValueError("no curves to draw")
    names = sorted(curves, key=lambda name: -max(point[2] for point in curves[name]))
    max_k = max(point[0] for points in curves.values() for point in points)
    top = max(max(p[1], p[2]) for points in curves.values() for p in points)
    top = max(0.05, round(top + 0.05, 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * WIDTH}" '
        f'height="{HEIGHT + 70}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{WIDTH}" y="18" text-anchor="middle" font-size="15">'
        f"{escape(title or 'Recommenders on the test split')}</text>",
    ]
    for panel, (column, label) in enumerate(PANELS):
        left = panel * WIDTH + MARGIN
        width, height, base = WIDTH - MARGIN - 16, HEIGHT - MARGIN, HEIGHT + 4

        def x(k: int, left: int = left, width: int = width) -> float:
            return left + (k - 1) / max(max_k - 1, 1) * width

        def y(value: float, height: int = height, base: int = base) -> float:
            return base - value / top * height

        parts.append(
            f'<rect x="{left}" y="{base - height}" width="{width}" height="{height}" '
            'fill="none" stroke="#999"/>'
        )
        for step in range(int(round(top * 10)) + 1):
            value = step / 10
            parts.append(
                f'<line x1="{left}" x2="{left + width}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                'stroke="#eee"/>'
                f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:.1f}</text>'
            )
        for k in range(1, max_k + 1):
            if k == 1 or k % 5 == 0:
                parts.append(
                    f'<text x="{x(k):.1f}" y="{base + 16}" text-anchor="middle">{k}</text>'
                )
        parts.append(
            f'<text x="{left + width / 2}" y="{base + 32}" text-anchor="middle">k</text>'
            f'<text x="{left + width / 2}" y="{base - height - 8}" text-anchor="middle" '
            f'font-size="13">{label}</text>'
        )
        for index, name in enumerate(names):
            colour = COLOURS[index % len(COLOURS)]
            value_at = 1 if column == "precision_at_k" else 2
            points = " ".join(f"{x(p[0]):.1f},{y(p[value_at]):.1f}" for p in sorted(curves[name]))
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
    for index, name in enumerate(names):
        colour = COLOURS[index % len(COLOURS)]
        left = MARGIN + index * 150
        parts.append(
            f'<line x1="{left}" x2="{left + 24}" y1="{HEIGHT + 60}" y2="{HEIGHT + 60}" '
            f'stroke="{colour}" stroke-width="3"/>'
            f'<text x="{left + 30}" y="{HEIGHT + 64}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def read_curves(*, schema: str, connect: str | None) -> Curves:
    """The curves table as ``{recommender: [(k, precision, ndcg), ...]}``."""
    if connect:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.remote(connect).getOrCreate()
    else:
        storage = {k: v for k, v in local_profile_conf().items() if k in STORAGE_SETTINGS}
        spark = build_spark_session(app_name="metric-chart", enable_hive=True, extra_conf=storage)
    rows = spark.table(f"{schema}.ml_recommender_metric_curves").collect()
    curves: dict[str, list[tuple[int, float, float]]] = {}
    for row in rows:
        curves.setdefault(row["recommender"], []).append(
            (int(row["k"]), float(row["precision_at_k"]), float(row["ndcg_at_k"]))
        )
    if not curves:
        raise SystemExit(f"{schema}.ml_recommender_metric_curves is empty: run dbt build first")
    return curves


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--title", default="")
    parser.add_argument("--schema", default=os.environ.get("DBT_SCHEMA", "movielens"))
    parser.add_argument("--connect", default=None, help="a Spark Connect URL, sc://host:port")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        svg(read_curves(schema=args.schema, connect=args.connect), title=args.title)
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
