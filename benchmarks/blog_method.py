"""A plain pandas version of the original blog post's method, as a speed baseline.

Reads File 7 and the lookup, weights each score column by its denominator, sums per MSOA,
divides, ranks and cuts deciles with ``qcut``, and writes a CSV: no checks, no summary
measures, no geometry. Run as a script it is the "whole process" baseline.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

SPECIAL_DENOMINATORS = {
    "Employment Score (rate)": "Working age population 18-66 (for use with Employment "
    "Deprivation Domain): mid 2022",
    "Income Deprivation Affecting Children Index (IDACI) Score (rate)": "Dependent Children "
    "aged 0-15: mid 2022",
    "Income Deprivation Affecting Older People (IDAOPI) Score (rate)": "Older population aged "
    "60 and over: mid 2022",
}
TOTAL = "Total population: mid 2022"


def blog_method(file7: Path, lookup: Path) -> pd.DataFrame:
    iod = pd.read_csv(file7)
    links = pd.read_csv(lookup, usecols=["lsoa21cd", "msoa21cd"]).drop_duplicates()
    iod = iod.rename(columns={"LSOA code (2021)": "lsoa21cd"}).merge(links, on="lsoa21cd")
    scores = [c for c in iod.columns if "Score" in c]
    denominators = {c: SPECIAL_DENOMINATORS.get(c, TOTAL) for c in scores}
    for col, den in denominators.items():
        iod[col + " weighted"] = iod[col] * iod[den]
    sums = iod.groupby("msoa21cd")[
        [c + " weighted" for c in scores] + sorted(set(denominators.values()))
    ].sum()
    out = pd.DataFrame(index=sums.index)
    for col, den in denominators.items():
        out[col] = sums[col + " weighted"] / sums[den]
        out[col + " rank"] = out[col].rank(method="min", ascending=False)
        out[col + " decile"] = pd.qcut(out[col + " rank"], q=10, labels=range(1, 11))
    return out.reset_index()


if __name__ == "__main__":
    blog_method(Path(sys.argv[1]), Path(sys.argv[2])).to_csv(sys.argv[3], index=False)
