"""The floor under a whole-process MSOA build: what each part costs alone, wall and CPU.

    IOD_MSOA_CONFIG=... python benchmarks/floor.py [--repeat 5] [--whole]

Times, as medians of ``--repeat`` runs: the imports (each set in a fresh interpreter),
reading and checking each input, the table, and each output file written alone from the
built dataset (in-process, into a scratch folder). CPU is the process's (every thread), so
a part whose CPU exceeds its wall time ran on both cores. Tells whether a build can be as
fast as the blog method (one CSV, no checks) while writing every file it writes.

``--whole`` times instead whole-process MSOA builds as they are and as product decisions
would make them (the workbook at zlib level 1, or not written...: other bytes), in turns with
the blog method, and prints each one's ratio to it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from iod_msoa import _build, _writers
from iod_msoa._describe import xlsx_notes
from iod_msoa._editions import edition_of
from iod_msoa._folder import output_files
from iod_msoa._readers import read_file7, read_lookup, read_names
from iod_msoa._shapes import msoa_polygons, read_boundaries
from iod_msoa._sources import sha256_file
from iod_msoa._xlsx import write_xlsx

IMPORTS = {
    "python (nothing)": "pass",
    "pandas": "import pandas",
    "pandas + pyarrow (csv, parquet)": "import pandas, pyarrow.csv, pyarrow.parquet",
    "+ pyogrio + shapely": "import pandas, pyarrow.csv, pyarrow.parquet, pyogrio, shapely",
    "geopandas (pandas, shapely, pyproj)": "import geopandas",
    "xlsxwriter": "import xlsxwriter",
    "rich.console": "import rich.console",
    "iod_msoa._build (all a build imports)": "import iod_msoa._build",
}


BUILD = "from iod_msoa import cli, _writers; import sys, zipfile, zlib, pathlib\n"
EMPTY = "lambda path, *a, **k: pathlib.Path(path).write_bytes(b'')"
# Each variant: the code run before the build (the file stays, empty, when not written).
WHAT_IF = {
    "build as it is": "",
    "xlsx at zlib level 1": (
        "zipfile._get_compressor = lambda t, l=None: zlib.compressobj(1, zlib.DEFLATED, -15)"
    ),
    "xlsx not written": f"_writers.write_xlsx = {EMPTY}",
    "xlsx, gpkg not written": (
        f"_writers.write_xlsx = {EMPTY}\n"
        f"_writers.gpd.GeoDataFrame.to_file = lambda _, *a, **k: ({EMPTY})(*a, **k)"
    ),
}


def timed(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``work``."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus)


def imported(statement: str, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of a fresh interpreter running ``statement``."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall = time.perf_counter()
        before = _children_cpu()
        subprocess.run([sys.executable, "-c", statement], check=True)
        cpus.append(_children_cpu() - before)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus)


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def whole(repeat: int) -> None:
    """Whole-process builds as product decisions would make them, in turns with the blog
    method: median wall and CPU seconds, and each one's ratio to the blog method."""
    config = _build.load_config()
    commands = {
        name: [sys.executable, "-c", f"{BUILD}{patch}\ncli.main(sys.argv[1:])", "build"]
        for name, patch in WHAT_IF.items()
    }
    for command in commands.values():
        command += ["--quiet", "--force", "--out", str(Path(tempfile.mkdtemp()) / "out")]
    blog = [sys.executable, str(Path(__file__).parent / "blog_method.py")]
    blog += [str(config.inputs["file7"]), str(config.inputs["lookup"]), tempfile.mktemp()]
    commands["blog method (one CSV)"] = blog
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            wall, cpu = time.perf_counter(), _children_cpu()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            runs[name].append((time.perf_counter() - wall, _children_cpu() - cpu))
    medians = {
        n: tuple(statistics.median(x) for x in zip(*r, strict=True)) for n, r in runs.items()
    }
    blog_wall = medians["blog method (one CSV)"][0]
    width = max(map(len, medians))
    print(f"{'whole process':<{width}}  wall s   CPU s   ratio   (medians of {repeat}, in turns)")
    for name, (wall, cpu) in medians.items():
        print(f"{name:<{width}}  {wall:6.3f}  {cpu:6.3f}  {wall / blog_wall:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--whole", action="store_true", help="whole processes, what-ifs")
    args = parser.parse_args()
    n = args.repeat
    if args.whole:
        whole(n)
        return
    rows: list[tuple[str, tuple[float, float]]] = []
    rows += [(f"import {name}", imported(code, n)) for name, code in IMPORTS.items()]

    config = _build.load_config()
    paths = config.inputs
    rows += [
        (
            "sha256 of File 7, lookup, names, boundaries",
            timed(
                lambda: [sha256_file(paths[k]) for k in ("file7", "lookup", "names", "boundaries")],
                n,
            ),
        ),
        ("read File 7 (checked)", timed(lambda: read_file7(paths["file7"]), n)),
        ("read lookup (checked)", timed(lambda: read_lookup(paths["lookup"]), n)),
        ("read names (checked)", timed(lambda: read_names(paths["names"]), n)),
        ("read MSOA boundaries (repaired)", timed(lambda: read_boundaries(paths["boundaries"]), n)),
    ]
    sha256, cache = sha256_file(paths["boundaries"]), config.cache_dir
    msoa_polygons(paths["boundaries"], sha256, cache, _build.version())  # kept for the next
    rows.append(
        (
            "read MSOA boundaries (from the cache, as builds do)",
            timed(lambda: msoa_polygons(paths["boundaries"], sha256, cache, _build.version()), n),
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        result = _build.build_many(config, ["msoa21"], out / "built", progress=False, force=True)
        lsoa, lookup = read_file7(paths["file7"]), read_lookup(paths["lookup"])
        names = read_names(paths["names"])
        msoa = _build.MSOA
        rows.append(
            (
                "MSOA table (area_table)",
                timed(
                    lambda: _build.area_table(
                        msoa, lsoa, lookup[["lsoa21cd", msoa.code, msoa.name]], names
                    ),
                    n,
                ),
            )
        )
        table = result[0].table
        geometry = read_boundaries(paths["boundaries"]).reindex(table[msoa.code].to_numpy())
        dataset = _writers.Dataset(msoa, table, geometry, result[0].provenance)
        files = {k: out / v for k, v in output_files(msoa.dataset).items()}
        created = datetime.fromisoformat(dataset.provenance.created)
        rounded = _writers.csv_ready(table)
        notes = xlsx_notes(dataset.provenance, msoa, deciles=dataset.deciles)
        title = f"{edition_of(msoa.edition).title} for {msoa.title}"

        def csv() -> None:
            arrow = pa.Table.from_pandas(_writers.csv_ready(table), preserve_index=False)
            pa_csv.write_csv(arrow, files["csv"], pa_csv.WriteOptions(quoting_style="needed"))

        def gpkg() -> None:
            files["gpkg"].unlink(missing_ok=True)
            gdf = _writers.gpd.GeoDataFrame(table, geometry=geometry.to_numpy(), crs=geometry.crs)
            gdf.to_file(
                files["gpkg"],
                layer=msoa.dataset,
                driver="GPKG",
                engine="pyogrio",
                use_arrow=True,
                dataset_options={"VERSION": "1.2"},
            )

        def xlsx(level: int | None = None) -> Callable[[], None]:
            path = files["xlsx"] if level is None else out / f"zlib_level_{level}.xlsx"

            def write() -> None:
                write_xlsx(path, rounded, dataset.dictionary, notes, title=title, created=created)

            if level is None:
                return write
            return lambda: _with_zlib_level(level, write)

        rows += [
            ("write CSV (rounded, pyarrow)", timed(csv, n)),
            (
                "write Parquet",
                timed(
                    lambda: pq.write_table(
                        pa.Table.from_pandas(table, preserve_index=False), files["parquet"]
                    ),
                    n,
                ),
            ),
            ("write GeoPackage", timed(gpkg, n)),
            ("write xlsx (as built: zlib level 6)", timed(xlsx(), n)),
            ("write xlsx at zlib level 1 (other bytes)", timed(xlsx(1), n)),
            ("write xlsx at zlib level 0 (other bytes)", timed(xlsx(0), n)),
            (
                "write every file (write_dataset)",
                timed(lambda: _writers.write_dataset(_fresh(out / "all"), dataset), n),
            ),
        ]
        size = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
    width = max(len(name) for name, _ in rows)
    print(f"{'part':<{width}}  wall s   CPU s   (medians of {n})")
    for name, (wall, cpu) in rows:
        print(f"{name:<{width}}  {wall:6.3f}  {cpu:6.3f}")
    print("sizes: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in size.items()))


def _fresh(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    for f in folder.iterdir():
        f.unlink()
    return folder


def _with_zlib_level(level: int, write: Callable[[], None]) -> None:
    """``write`` with zipfile's deflate at ``level`` (0: deflate's stored blocks, no
    compression): what another level would buy."""
    original = zipfile._get_compressor  # type: ignore[attr-defined]

    def compressor(compress_type: int, compresslevel: int | None = None) -> object:
        if compress_type == zipfile.ZIP_DEFLATED:
            return zlib.compressobj(level, zlib.DEFLATED, -15)
        return original(compress_type, compresslevel)

    zipfile._get_compressor = compressor  # type: ignore[attr-defined]
    try:
        write()
    finally:
        zipfile._get_compressor = original  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
