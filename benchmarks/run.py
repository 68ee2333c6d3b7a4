"""Time load + aggregate + rank on the full data, in-process and as whole processes.

    python benchmarks/run.py [--inputs ../shared/data/inputs] [--repeat 7]

Compares iod_msoa with the blog-post method (benchmarks/blog_method.py) on the same files
and prints a table; numbers are medians (and minimums) of ``--repeat`` runs. Also times
``iod-msoa build --geography all`` and a grouping of all LSOAs (``--areas``, a CSV) as one
process, and each geography's share of an in-process build of all of them (aggregation,
shapes and every file written). Ends with the goal's ratio: a whole-process MSOA build over
the blog method's whole process, the two run in turns.

Builds keep the LSOA polygons made a clean coverage, and the MSOA polygons repaired, in
their cache folder: the builds are timed with that cache made (by untimed builds first), and
the grouping also without it (a new cache folder each run), as a first build on a machine is.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from blog_method import blog_method  # noqa: E402

from iod_msoa import (  # noqa: E402
    GEOGRAPHIES,
    aggregate,
    build_many,
    load_config,
    msoa_table,
    read_file7,
    read_lookup,
    read_names,
)

FILES = {
    "file7": "File_7_IoD2025_STANDIN.csv",
    "lookup": "OA21_LSOA21_MSOA21_LAD22_EW_LU.csv",
    "names": "MSOA-Names-2.x.csv",
    "boundaries": "MSOA_2021_EW_BGC.gpkg",
    "geographies": "../geographies/LSOA21_geographies_EN_IoD2025.csv",
    "lsoa_boundaries": "../boundaries/LSOA_2021_EW_BSC_V4_geographr.gpkg",
}


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), min(runs)


def alternating(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """:func:`timed` of two things run in turns, so both see the same machine state."""
    runs: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, times in zip((first, second), runs, strict=True):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    a, b = runs
    return (statistics.median(a), min(a)), (statistics.median(b), min(b))


def per_geography(config, out: Path, repeat: int) -> list[tuple[str, tuple[float, float]]]:
    """Each geography's time within one in-process build of all: its table, shapes, files.

    The first geography's time includes reading and checking every input.
    """
    runs: dict[str, list[float]] = {key: [] for key in GEOGRAPHIES}
    for _ in range(repeat):
        results = build_many(config, GEOGRAPHIES.values(), out, progress=False, force=True)
        before = 0.0
        for result in results:
            runs[result.geography.key].append(result.seconds - before)
            before = result.seconds
    return [
        (f"  within --geography all: {key}", (statistics.median(t), min(t)))
        for key, t in runs.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=Path, default=HERE.parent.parent / "shared/data/inputs")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    paths = {k: args.inputs / v for k, v in FILES.items()}
    lsoa = read_file7(paths["file7"])
    lookup = read_lookup(paths["lookup"])
    names = read_names(paths["names"])
    lads = lsoa[["lsoa21cd", "lad24cd"]]

    rows = [
        ("read File 7 (checked)", timed(lambda: read_file7(paths["file7"]), args.repeat)),
        ("aggregate -> MSOA, all measures", timed(lambda: aggregate(lsoa, lookup), args.repeat)),
        (
            "aggregate -> LAD, all measures",
            timed(lambda: aggregate(lsoa, lads, area="lad24cd"), args.repeat),
        ),
        (
            "MSOA table with names + LAD",
            timed(lambda: msoa_table(lsoa, lookup, names), args.repeat),
        ),
        (
            "blog method in-process (read + aggregate)",
            timed(lambda: blog_method(paths["file7"], paths["lookup"]), args.repeat),
        ),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.toml"
        config.write_text(
            f'allow_unverified = true\ncache_dir = "{Path(tmp) / "cache"}"\n[inputs]\n'
            + "".join(f'{k} = "{v.resolve()}"\n' for k, v in paths.items())
        )
        env = {**os.environ, "IOD_MSOA_CONFIG": str(config)}
        grouping = Path(tmp) / "grouping.csv"  # every LSOA in its MSOA, as a user's areas
        lookup[lookup["lsoa21cd"].isin(lsoa["lsoa21cd"])].drop_duplicates("lsoa21cd").rename(
            columns={"msoa21cd": "area_code", "msoa21nm": "area_name"}
        )[["lsoa21cd", "area_code", "area_name"]].to_csv(grouping, index=False)
        build = [sys.executable, "-m", "iod_msoa", "build", "--quiet", "--force"]
        blog = [sys.executable, str(HERE / "blog_method.py"), str(paths["file7"])]
        blog += [str(paths["lookup"]), str(Path(tmp) / "blog.csv")]
        own = [*build, "--areas", str(grouping), "--out", str(Path(tmp) / "own")]

        def quietly(command: list[str]) -> None:
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)

        quietly(own)  # makes the cache: LSOA coverage
        quietly([*build, "--out", str(Path(tmp) / "out")])  # and MSOA polygons
        # The two whole processes the goal compares, run in turns: the same machine state.
        whole_build, whole_blog = alternating(
            lambda: quietly([*build, "--out", str(Path(tmp) / "out")]),
            lambda: subprocess.run(blog, check=True),
            args.repeat,
        )
        rows += [
            ("whole process: iod-msoa build (all outputs)", whole_build),
            (
                "whole process: iod-msoa build --areas (CSV grouping of all LSOAs)",
                timed(
                    lambda: quietly(own),
                    args.repeat,
                ),
            ),
            (
                "whole process: iod-msoa build --areas, no LSOA cache yet",
                timed(
                    lambda: quietly([*own, "--cache-dir", tempfile.mkdtemp(dir=tmp)]),
                    args.repeat,
                ),
            ),
            ("whole process: blog method (CSV only)", whole_blog),
            (
                "whole process: iod-msoa build --geography all",
                timed(
                    lambda: quietly(
                        [*build, "--geography", "all", "--out", str(Path(tmp) / "all")]
                    ),
                    args.repeat,
                ),
            ),
        ]
        rows += per_geography(load_config(config), Path(tmp) / "each", args.repeat)
    width = max(len(name) for name, _ in rows)
    print(f"{'step':<{width}}  median s    min s   ({args.repeat} runs)")
    for name, (median, best) in rows:
        print(f"{name:<{width}}  {median:8.3f} {best:8.3f}")
    build_s, blog_s = whole_build[0], whole_blog[0]
    print(
        f"ratio build / blog method, whole process (medians, run in turns): "
        f"{build_s / blog_s:.2f} ({build_s:.3f} s / {blog_s:.3f} s; the goal is at most 1.0)"
    )


if __name__ == "__main__":
    main()
