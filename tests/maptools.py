"""Tiny synthetic areas for the map tests (tests/test_figures.py, tests/test_mapdata.py)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from iod_msoa._vocab import METRICS

METRIC_SHORTS = [m.short for m in METRICS]


def grid_areas() -> gpd.GeoDataFrame:
    """A 4 x 5 grid of 1 km squares near Birmingham, two LADs, every metric's columns."""
    x0, y0, size = 406000, 286000, 1000
    cells = [
        box(x0 + i * size, y0 + j * size, x0 + (i + 1) * size, y0 + (j + 1) * size)
        for j in range(4)
        for i in range(5)
    ]
    n = len(cells)
    rng = np.random.default_rng(1)
    table = pd.DataFrame(
        {
            "msoa21cd": [f"E0200{i:04d}" for i in range(n)],
            "msoa21hclnm": [f"Place & Area {i}" for i in range(n)],
            "lad24cd": ["E08000025"] * 10 + ["E08000026"] * 10,
            "lad24nm": ["Birmingham"] * 10 + ["Coventry"] * 10,
            "pop_total": rng.integers(5000, 15000, n),
        }
    )
    for m in METRIC_SHORTS:
        scores = rng.random(n) * 50
        ranks = pd.Series(scores).rank(ascending=False, method="min").astype("Int64")
        table[f"{m}_score"] = scores
        table[f"{m}_rank"] = ranks
        table[f"{m}_decile"] = np.ceil(ranks.astype(float) * 10 / n).astype("Int64")
    table.loc[3, "idaci_decile"] = pd.NA  # an area with no decile is drawn grey
    return gpd.GeoDataFrame(table, geometry=cells, crs="EPSG:27700").to_crs(4326)
