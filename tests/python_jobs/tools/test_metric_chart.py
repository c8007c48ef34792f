"""python_jobs.tools.metric_chart: the SVG holds one line per recommender and panel, drawn
where the values say."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from python_jobs.tools.metric_chart import HEIGHT, MARGIN, svg

SVG = "{http://www.w3.org/2000/svg}"


def test_lines_follow_the_values():
    curves = {
        "ease": [(k, 0.5 - 0.01 * k, 0.6 - 0.005 * k) for k in range(1, 21)],
        "popularity": [(k, 0.2, 0.25) for k in range(1, 21)],
    }
    root = ElementTree.fromstring(svg(curves, title="toy"))
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 2 * len(curves)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "toy" in texts and "ease" in texts and "popularity" in texts
    # The flat popularity precision line is horizontal; ease's falls (SVG y grows down).
    by_points = [
        [tuple(map(float, p.split(","))) for p in line.get("points").split()] for line in lines
    ]
    flat = [pts for pts in by_points if len({y for _, y in pts}) == 1]
    assert len(flat) == 2
    falling = [pts for pts in by_points if pts[-1][1] > pts[0][1]]
    assert len(falling) == 2
    # Popularity's precision 0.2 and NDCG 0.25 sit at those fractions of the 0..0.6 axis
    # (the axis tops out at the largest value, 0.595, rounded up to a tenth).
    base, height = HEIGHT + 4, HEIGHT - MARGIN
    heights = sorted(round((base - pts[0][1]) / height, 6) for pts in flat)
    # coordinates are written to 0.1 px
    assert heights == [pytest.approx(0.2 / 0.6, abs=1e-3), pytest.approx(0.25 / 0.6, abs=1e-3)]


def test_empty_curves_are_refused():
    with pytest.raises(ValueError, match="no curves"):
        svg({})
