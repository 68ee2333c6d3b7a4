"""``iod-msoa build`` and ``iod-msoa validate``: one-line errors, progress on stderr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ._build import build, version
from ._config import CONFIG_ENV, INPUT_NAMES, load_config
from ._errors import IodMsoaError, MismatchError
from ._site import human_size
from ._sources import MANIFEST
from ._validate import exact_lads, validate

NAMES_SHOWN = 30  # areas named in the validation summary before "and N more"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iod-msoa",
        description="English Indices of Deprivation 2025 aggregated from LSOAs to MSOAs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        help=f"TOML config with local input paths (default: ${CONFIG_ENV}, else download)",
    )
    common.add_argument(
        "--out", type=Path, help="output folder (default: data/packages/iod25_msoa)"
    )
    common.add_argument(
        "--allow-unverified",
        action="store_true",
        default=None,
        help="use inputs whose checksum differs from the official one (recorded in outputs)",
    )
    common.add_argument("--quiet", action="store_true", help="no progress on stderr")
    common.add_argument(
        "--cache-dir", type=Path, help="where downloads are kept (default: data/raw)"
    )
    local = common.add_argument_group("local inputs (instead of downloading; override the config)")
    for name in INPUT_NAMES:
        local.add_argument(
            f"--{name.replace('_', '-')}", type=Path, metavar="PATH", help=MANIFEST[name].title
        )
    build_cmd = commands.add_parser(
        "build", parents=[common], help="build the MSOA dataset (CSV, Parquet, GeoPackage, ...)"
    )
    build_cmd.add_argument("--force", action="store_true", help="rebuild even if current")
    validate_cmd = commands.add_parser(
        "validate",
        parents=[common],
        help="reproduce MHCLG's local authority summaries (File 10) with the same engine",
    )
    validate_cmd.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 if any measure that should match MHCLG (not an estimate) does not",
    )
    return parser


def _run_build(args: argparse.Namespace, config, console: Console) -> int:
    result = build(config, args.out, progress=not args.quiet, force=args.force)
    table = result.table
    verb = "Already current" if result.skipped else "Built"
    console.print(
        f"{verb}: {len(table):,} MSOAs from {int(table['n_lsoa'].sum()):,} LSOAs "
        f"in {result.seconds:.1f} s -> {result.out_dir}"
    )
    for path in result.paths.values():
        console.print(f"  {path.name}  ({human_size(path.stat().st_size)})")
    if result.unverified:
        console.print(
            "[bold yellow]Unverified inputs[/] (checksum differs from the official file): "
            + ", ".join(result.unverified)
        )
    return 0


def _run_validate(args: argparse.Namespace, config, console: Console) -> int:
    result = validate(config, args.out, progress=not args.quiet)
    table = Table(title="LSOA -> LAD 2024 with our engine vs MHCLG File 10")
    longest = int(result.summary["measure"].str.len().max()) + 3  # room for footnote marks
    table.add_column("measure", no_wrap=True, min_width=longest)
    table.add_column("LADs matching", justify="right")
    table.add_column("max |diff|", justify="right")
    notes = dict.fromkeys(n for n in result.summary["note"] if n)
    marks = {note: "*" * (i + 1) for i, note in enumerate(notes)}
    for row in result.summary.itertuples():
        table.add_row(
            row.measure + marks.get(row.note, ""),
            f"{row.n_matching}/{row.n_lads}",
            f"{row.max_abs_diff:.6g}",
        )
    console.print(table)
    for note, mark in marks.items():
        console.print(f"{mark} {note}")
    if result.file7_status != "verified":
        console.print(
            f"[bold yellow]File 7 is {result.file7_status}[/]: it is not the official file, so "
            "differences can come from its values rather than the method; where its rows are "
            "official, every measure but scale should match to published rounding."
        )
    exact = exact_lads(result.table)
    n_lads = result.table["lad24cd"].nunique()
    names = result.table.drop_duplicates("lad24cd").set_index("lad24cd")["lad24nm"]
    shown = sorted(names.loc[exact])
    listed = ", ".join(shown[:NAMES_SHOWN])
    if len(shown) > NAMES_SHOWN:
        listed += f" and {len(shown) - NAMES_SHOWN} more"
    console.print(
        f"{len(exact)} of {n_lads} LADs match MHCLG on every exact measure"
        + (f": {listed}" if shown else "")
    )
    console.print(f"Wrote {result.path}")
    wrong = result.mismatches
    if args.strict and len(wrong):
        raise MismatchError(
            f"--strict: {len(wrong):,} comparisons that should match MHCLG do not "
            f"({wrong['lad24cd'].nunique()} LADs, {wrong['measure'].nunique()} measures); "
            f"see {result.path}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 input problem, 2 usage)."""
    args = _parser().parse_args(argv)
    # soft_wrap: lines are not broken at 80 columns when output goes to a file or pipe
    console = Console(highlight=False, soft_wrap=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        inputs = {n: getattr(args, n) for n in INPUT_NAMES if getattr(args, n) is not None}
        config = load_config(args.config).with_overrides(
            allow_unverified=args.allow_unverified, inputs=inputs, cache_dir=args.cache_dir
        )
        run = {"build": _run_build, "validate": _run_validate}[args.command]
        return run(args, config, console)
    except IodMsoaError as exc:
        errors.print(f"iod-msoa: error: {exc}", markup=False)
        return 1
    except KeyboardInterrupt:
        errors.print("iod-msoa: interrupted; earlier outputs are unchanged", markup=False)
        return 130


if __name__ == "__main__":
    sys.exit(main())
