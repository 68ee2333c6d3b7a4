"""Where the development inputs are, for tests marked ``realdata``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INPUTS = Path(os.environ.get("IOD_MSOA_INPUTS", ROOT.parent / "shared" / "data" / "inputs"))
FILES = {
    "file7": "File_7_IoD2025_STANDIN.csv",
    "lookup": "OA21_LSOA21_MSOA21_LAD22_EW_LU.csv",
    "names": "MSOA-Names-2.x.csv",
    "boundaries": "MSOA_2021_EW_BGC.gpkg",
    "lad_summaries": "File_10_IoD2025_LAD_summaries_v2_as_table.csv",
    "geographies": "../geographies/LSOA21_geographies_EN_IoD2025.csv",
    "lsoa_boundaries": "../boundaries/LSOA_2021_EW_BSC_V4_geographr.gpkg",
    "utla_summaries": "../geographies/File11_IoD2025_UTLA24_average_scores_SIRSAZOFDUCK.csv",
    "icb_summaries": "../iod2025/humaniverse_IMD/imd2025_england_icb24.csv",
    "lrf_summaries": "../iod2025/humaniverse_IMD/imd2025_england_lrf.csv",
}
# The IoD2019 inputs the change package reads, beside the 2025 ones.
FILES_2019 = {
    "file7_2019": "../iod2019/File_7_IoD2019_STANDIN.csv",
    "lsoa11_lsoa21": "../iod2019/lookup_lsoa11_lsoa21_ltla22_geographr.csv",
}
# The six local authorities whose File 7 rows are official in the stand-in.
OFFICIAL_LADS = ["E08000002", "E06000009", "E07000133", "E06000053", "E07000218", "E07000223"]

needs_inputs = pytest.mark.skipif(
    not (INPUTS / FILES["file7"]).is_file(), reason=f"development inputs not found in {INPUTS}"
)


def write_config(folder: Path, *, allow_unverified: bool = True, **overrides: Path) -> Path:
    """A config for the development inputs, with some inputs replaced by other files (and
    the IoD2019 inputs the change package reads, when there)."""
    earlier = {name: INPUTS / file for name, file in FILES_2019.items()}
    if not all(path.is_file() for path in earlier.values()):
        earlier = {}
    paths = {name: INPUTS / file for name, file in FILES.items()} | earlier | overrides
    config = folder / "config.toml"
    lines = [f"allow_unverified = {str(allow_unverified).lower()}", "[inputs]"]
    lines += [f'{name} = "{path.resolve()}"' for name, path in paths.items()]
    config.write_text("\n".join(lines) + "\n")
    return config
