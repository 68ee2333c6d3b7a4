"""``iod-msoa build`` and ``iod-msoa validate``: one-line errors, progress on stderr.

Only the standard library is imported before ``main`` has set up its handlers, so even a
Ctrl-C during start-up ends in one line, not a traceback.
"""

from __future__ import annotations

import atexit
import io
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

# Exit statuses: 1 a problem with inputs, settings or the output folder; 2 usage (argparse);
# 128 + signal number when stopped by Ctrl-C (130) or SIGTERM (143), as shells do.
EXIT_PROBLEM = 1
NAMES_SHOWN = 30  # areas named in the validation summary before "and N more"


# Signals that stop a run like Ctrl-C does: a kill, or the terminal closing.
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C: the same clean-up, so nothing half-written stays."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_stop_signal(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def _parser() -> argparse.ArgumentParser:
    import argparse
    from pathlib import Path

    from ._build import version
    from ._config import CONFIG_ENV, expand_user
    from ._editions import DEFAULT_EDITION, EDITIONS
    from ._errors import ConfigError
    from ._geographies import (
        ALL,
        DEFAULT_GEOGRAPHY,
        EDITION_GEOGRAPHIES,
        GEOGRAPHIES,
        PARENTS,
        VALIDATED,
    )
    from ._manifest import INPUT_NAMES, MANIFEST
    from ._validate import DEFAULT_VALIDATION

    class Parser(argparse.ArgumentParser):
        """Usage errors in one line too, with where to look for the right usage."""

        def error(self, message: str) -> NoReturn:
            self.exit(2, f"iod-msoa: error: {message} (see `{self.prog} --help`)\n")

    def path(text: str) -> Path:
        """A path option, ``~`` expanded: an empty one (say ``--out "$UNSET"``) would mean the
        current folder."""
        if not text.strip():
            raise argparse.ArgumentTypeError("must not be empty")
        try:
            return expand_user(text, "the path")
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    parser = Parser(
        prog="iod-msoa",
        description="English Indices of Deprivation 2025 aggregated from LSOAs to MSOAs "
        "(or any area built from LSOAs).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    common = Parser(add_help=False)
    common.add_argument(
        "--config",
        type=path,
        help=f"TOML config with local input paths (default: ${CONFIG_ENV}, else download)",
    )
    common.add_argument(
        "--out",
        type=path,
        help="output folder (build: data/packages/iod25_<geography>, iod25_msoa for MSOAs, "
        "and with several geographies each goes to a folder of that name inside it; "
        "validate: data/packages/iod25_msoa; change: data/packages/iod25_msoa_change)",
    )
    common.add_argument(
        "--allow-unverified",
        action="store_true",
        default=None,
        help="use inputs whose checksum differs from the official one (recorded in outputs)",
    )
    common.add_argument("--quiet", action="store_true", help="no progress on stderr")
    common.add_argument(
        "--edition",
        type=int,
        choices=sorted(EDITIONS),
        default=DEFAULT_EDITION,
        help=f"IoD edition (default: {DEFAULT_EDITION}); 2019 builds "
        + ", ".join(EDITION_GEOGRAPHIES[2019])
        + " into data/packages/iod19_<geography>",
    )
    common.add_argument(
        "--cache-dir", type=path, help="where downloads are kept (default: data/raw)"
    )
    common.add_argument(
        "--download-timeout",
        type=float,
        metavar="SECONDS",
        help="longest one input's download may take, retries included (default: 600)",
    )
    local = common.add_argument_group(
        "local inputs (instead of downloading; override the config)",
        "An ONS lookup given (--lsoa-icb ... --lsoa-ward, here or in the config) wins over a "
        "geographies table for the geographies it gives.",
    )
    for name in INPUT_NAMES:
        local.add_argument(
            f"--{name.replace('_', '-')}", type=path, metavar="PATH", help=MANIFEST[name].title
        )
    build_cmd = commands.add_parser(
        "build",
        parents=[common],
        help="build the dataset of MSOAs or other geographies (CSV, Parquet, GeoPackage, ...)",
    )
    build_cmd.add_argument("--force", action="store_true", help="rebuild even if current")
    build_cmd.add_argument(
        "--areas-name",
        metavar="NAME",
        help="name of your own areas (--areas PATH): the package goes to "
        "data/packages/iod25_NAME (default: from the file's name)",
    )
    build_cmd.add_argument(
        "--within",
        choices=PARENTS,
        metavar="P",
        help="also rank each area among the areas of the same parent: "
        f"{', '.join(PARENTS)} (adds <metric>_rank_in_P and <metric>_decile_in_P)",
    )
    change_cmd = commands.add_parser(
        "change",
        parents=[common],
        help="build the change since IoD2019: each MSOA's rank and decile in both editions "
        "(reads --file7-2019 and --lsoa11-lsoa21 too)",
    )
    change_cmd.add_argument("--force", action="store_true", help="rebuild even if current")
    validate_cmd = commands.add_parser(
        "validate",
        parents=[common],
        help="reproduce MHCLG's summaries (Files 10, 11, 13, 14) with the same engine",
    )
    geography_options = (
        (build_cmd, "area to build", list(GEOGRAPHIES), [DEFAULT_GEOGRAPHY]),
        (validate_cmd, "MHCLG summary to reproduce", list(VALIDATED), DEFAULT_VALIDATION),
    )
    earlier = [k for y, e in EDITION_GEOGRAPHIES.items() if y != DEFAULT_EDITION for k in e]
    for command, what, keys, default in geography_options:
        command.add_argument(
            "--geography",
            action="append",
            choices=list(dict.fromkeys([*keys, ALL, *earlier])),
            metavar="G",
            help=f"{what}, repeatable: {', '.join(keys)} or {ALL} (default: {', '.join(default)})",
        )
    validate_cmd.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 if any measure that should match MHCLG (not an estimate) does not",
    )
    return parser


def _run_build(args: argparse.Namespace, config, console) -> None:
    from rich.text import Text

    from ._areas import is_layer
    from ._build import build_many
    from ._editions import DEFAULT_EDITION
    from ._errors import ConfigError
    from ._geographies import area_name_from, own_areas, select
    from ._report import human_size

    if args.areas_name is not None and args.areas is None:
        raise ConfigError("--areas-name names your own areas: give them with --areas PATH")
    if args.areas is not None and args.edition != DEFAULT_EDITION:
        raise ConfigError(f"your own areas (--areas) are built from IoD{DEFAULT_EDITION} only")
    geographies = (
        select(args.geography, edition=args.edition) if args.geography or args.areas is None else []
    )
    if args.areas is not None:
        name = args.areas_name or area_name_from(str(args.areas))
        geographies.append(own_areas(name, layer=is_layer(args.areas)))
    results = build_many(
        config,
        geographies,
        args.out,
        progress=not args.quiet,
        force=args.force,
        edition=args.edition,
        within=args.within or "",
    )
    unverified: dict[str, None] = {}
    for result in results:
        table = result.table
        verb = "Already current" if result.skipped else "Built"
        console.print(
            f"{verb}: {len(table):,} {result.geography.nouns} from "
            f"{int(table['n_lsoa'].sum()):,} LSOAs after {result.seconds:.1f} s -> {result.out_dir}"
        )
        for path in result.paths.values():
            console.print(f"  {path.name}  ({human_size(path.stat().st_size)})")
        unverified |= dict.fromkeys(result.unverified)
    if unverified:
        console.print(
            Text.assemble(
                ("Unverified inputs", "bold yellow"),
                " (checksum differs from the official file): " + ", ".join(unverified),
            )
        )


def _run_change(args: argparse.Namespace, config, console) -> None:
    from ._report import human_size
    from ._since import build_change, lsoas_still_most_deprived

    result = build_change(config, args.out, progress=not args.quiet, force=args.force)
    table = result.table
    verb = "Already current" if result.skipped else "Built"
    flags = table["comparability"].value_counts()
    console.print(
        f"{verb}: {len(table):,} {result.geography.nouns} in IoD2019 and IoD2025 "
        f"({flags.get('exact', 0):,} exact, {flags.get('apportioned', 0):,} apportioned) "
        f"after {result.seconds:.1f} s -> {result.out_dir}"
    )
    for path in result.paths.values():
        console.print(f"  {path.name}  ({human_size(path.stat().st_size)})")
    kept = lsoas_still_most_deprived(config, progress=False)
    console.print(
        f"LSOAs in the IMD2025 most deprived decile also in IMD2019's: {kept.kept:,} of "
        f"{kept.of:,} ({kept.percent:.2f}%; MHCLG: {kept.published_percent}%)"
    )


def _print_summaries(result, console) -> None:
    """One table per geography (measures matching MHCLG, largest difference), then the
    footnotes its marks point to."""
    from rich.table import Table

    notes = dict.fromkeys(n for n in result.summary["note"] if n)
    marks = {note: "*" * (i + 1) for i, note in enumerate(notes)}
    for g in result.geographies:
        table = Table(title=f"LSOA -> {g.label} with our engine vs MHCLG {g.summary_file}")
        longest = int(result.summary["measure"].str.len().max()) + len(marks)  # + footnote
        table.add_column("measure", no_wrap=True, min_width=longest)
        table.add_column(f"{g.nouns} matching", justify="right")
        table.add_column("max |diff|", justify="right")
        for row in result.summary[result.summary["geography"] == g.key].itertuples():
            table.add_row(
                row.measure + marks.get(row.note, ""),
                f"{row.n_matching}/{row.n_areas}",
                f"{row.max_abs_diff:.6g}",
            )
        console.print(table)
    for note, mark in marks.items():
        console.print(f"{mark} {note}")


def _run_validate(args: argparse.Namespace, config, console) -> None:
    from rich.text import Text

    from ._errors import ConfigError, MismatchError
    from ._report import exact_areas
    from ._validate import DEFAULT_VALIDATIONS, validate

    if args.areas is not None:
        raise ConfigError(
            "validate compares with MHCLG's summaries, which your own areas (--areas) have "
            "none of; build them with `iod-msoa build --areas PATH`"
        )
    result = validate(
        config,
        args.out,
        progress=not args.quiet,
        geographies=args.geography or DEFAULT_VALIDATIONS[args.edition],
        edition=args.edition,
    )
    _print_summaries(result, console)
    if result.file7_status != "verified":
        console.print(
            Text.assemble(
                (f"File 7 is {result.file7_status}", "bold yellow"),
                ": it is not the official file, so differences can come from its values rather "
                "than the method; where its rows are official, every measure but scale should "
                "match to published rounding.",
            )
        )
    names = result.table.drop_duplicates(["geography", "area_code"])
    for g in result.geographies:
        of = names[names["geography"] == g.key].set_index("area_code")["area_name"]
        exact = sorted(of.loc[exact_areas(result.table, g.key)])
        listed = ", ".join(exact[:NAMES_SHOWN])
        if len(exact) > NAMES_SHOWN:
            listed += f" and {len(exact) - NAMES_SHOWN} more"
        console.print(
            f"{len(exact)} of {len(of)} {g.nouns} match MHCLG on every exact measure"
            + (f": {listed}" if exact else "")
        )
    for measures, why in result.differences:
        console.print(f"Remaining differences ({measures}): {why}")
    console.print(f"Wrote {result.path}")
    wrong = result.mismatches
    if args.strict and len(wrong):
        raise MismatchError(
            f"--strict: {len(wrong):,} comparisons that should match MHCLG do not "
            f"({len(wrong[['geography', 'area_code']].drop_duplicates())} areas, "
            f"{wrong['measure'].nunique()} measures); "
            f"see {result.path}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 a problem, 2 usage, 128 + signal stopped)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_stop_signal)
    # GDAL would print its own "ERROR n: ..." lines as well as raising: keep only ours.
    os.environ.setdefault("CPL_LOG", os.devnull)
    for stream in (sys.stdout, sys.stderr):
        # A path or name the terminal's encoding cannot show (PYTHONIOENCODING=ascii) is
        # escaped, not a traceback after every file is written.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        return _main(argv)
    except Terminated as stop:
        name = signal.Signals(stop.signum).name
        _say(f"iod-msoa: stopped ({name}); earlier outputs are unchanged")
        return 128 + stop.signum
    except KeyboardInterrupt:
        _say("iod-msoa: interrupted; earlier outputs are unchanged")
        return 128 + signal.SIGINT


def run() -> NoReturn:
    """The ``iod-msoa`` command: :func:`main`, then exit at once.

    When ``main`` returns, every file is written, closed and swapped in. The usual exit's
    handlers run (``atexit``), then the streams are flushed and the process ends without
    the interpreter's teardown (unloading GDAL and every module: a fifth of a second of a
    build). A run stopped or failed while a background thread still reads polygons in
    GDAL's C++ skips the handlers too: before Python 3.14 finalising stops the thread
    mid-call and can crash the process (status -11) after a clean stop.
    """
    status = main()
    if not any(t.daemon and t.is_alive() for t in threading.enumerate()):
        atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a reader gone (a closed pipe): Python's own exit would return 120
        status = status or 120
    os._exit(status)


def _say(line: str) -> None:
    """One line on stderr, without rich (which may not be imported yet)."""
    print(line, file=sys.stderr, flush=True)


def _main(argv: Sequence[str] | None) -> int:
    from ._config import load_config
    from ._console import plain_console
    from ._errors import IodMsoaError
    from ._manifest import INPUT_NAMES

    args = _parser().parse_args(argv)
    console, errors = plain_console(), plain_console(stderr=True)
    try:
        inputs = {n: getattr(args, n) for n in INPUT_NAMES if getattr(args, n) is not None}
        config = load_config(args.config).with_overrides(
            allow_unverified=args.allow_unverified,
            inputs=inputs,
            cache_dir=args.cache_dir,
            download_timeout=args.download_timeout,
        )
        run = {"build": _run_build, "change": _run_change, "validate": _run_validate}
        run[args.command](args, config, console)
    except IodMsoaError as exc:
        errors.print(f"iod-msoa: error: {exc}")
        return EXIT_PROBLEM
    except OSError as exc:  # the environment, not the inputs: a full disk, a vanished folder
        where = f" ({exc.filename})" if exc.filename else ""
        errors.print(f"iod-msoa: error: {exc.strerror or exc}{where}")
        return EXIT_PROBLEM
    return 0


if __name__ == "__main__":
    sys.exit(main())
