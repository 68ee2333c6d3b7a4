"""Describing the dataset: data dictionary (CSV and Markdown), data package, notes, the
GeoPackage's description and the workbook's Notes, all from the metric table (METRICS)
and the geography, so every file says the same thing the same way.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pandas as pd

from ._change import APPORTIONED, EXACT, SPLIT_RULE
from ._editions import CHANGE_BY_SCORE, edition_of
from ._folder import Provenance, file_resource, output_files, write_json
from ._geographies import DEFAULT_GEOGRAPHY, GEOGRAPHIES, Geography
from ._plan import CHANGE, EARLIER
from ._ranking import MIN_AREAS_FOR_DECILES
from ._ties import MEAN
from ._vocab import METRICS

MSOA = GEOGRAPHIES[DEFAULT_GEOGRAPHY]
CSV_DECIMALS = 6
# The CSV is the package's table: Frictionless clients read and check it against its schema.
# The other formats hold the same table but are declared as files, which clients check by
# size and sha256 only (they cannot count rows in Parquet, GeoPackage or Excel).
TABLE_FORMATS = {"csv": "text/csv"}
FILE_FORMATS = {
    "parquet": "application/vnd.apache.parquet",
    "gpkg": "application/geopackage+sqlite3",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
LICENCE = {
    "name": "OGL-UK-3.0",
    "title": "Open Government Licence v3.0",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}

_HIGHER_MORE = "higher = more deprived"
_LOWER_MORE = "1 = most deprived"

# Identifier columns with more to say than "<label> code/name": description, unit.
_NAMED_COLUMNS = {
    "msoa21cd": ("MSOA code (December 2021 boundaries)", "ONS code"),
    "msoa21nm": ("MSOA name (ONS)", "text"),
    "msoa21hclnm": ("MSOA name (House of Commons Library)", "text"),
}


def _fixed_columns(geography: Geography) -> dict[str, tuple[str, str]]:
    """Identifier and count columns of a geography's table: description, unit.

    A best-fit area's code and name say so: it is not the legal area they name.
    """
    g, edition = geography, edition_of(geography.edition)
    fit = f" (best fit: {_BEST_FIT_AREA})" if g.best_fit else ""
    columns = {
        g.code: (f"{g.label} code{fit}", "ONS code"),
        g.name: (f"{g.label} name{' (best fit)' if g.best_fit else ''}", "text"),
    }
    year = f"20{edition.lad_key[3:5]}"
    if g.carries_lad:
        columns |= {
            edition.lad_key: (
                f"Local authority district code ({year}) containing the {g.noun}",
                "ONS code",
            ),
            edition.lad_name: (f"Local authority district name ({year})", "text"),
        }
    if g.through:
        columns["comparability"] = (_COMPARABILITY.format(noun=g.noun), "exact / apportioned")
    lsoas = f"LSOAs (20{edition.lsoa_key[4:6]})"
    if g.through:
        lsoas += ", whole or in part (pieces of a split LSOA count once each),"
    columns["n_lsoa"] = (f"Number of{_best_fit(g)} {lsoas} in the {g.noun}", "count")
    return columns | {k: v for k, v in _NAMED_COLUMNS.items() if k.startswith(g.key)}


_COMPARABILITY = (
    "exact: the {noun} is made of whole LSOAs (2011), so its values are those MHCLG's method "
    "gives it; apportioned: it holds part of an LSOA (2011) split between {noun}s by ONS's "
    "LSOA 2011 -> 2021 lookup, counted with the LSOA's ranks and scores and its populations "
    f"shared by {SPLIT_RULE}"
)


_BEST_FIT_AREA = "the union of the LSOAs whose population-weighted centroid lies in the area"


def _where(geography: Geography) -> str:
    """' in England' where the areas cover it; a user's areas are where the user drew them."""
    return " in England" if geography.covers_england else " given"


def _best_fit(geography: Geography) -> str:
    """' best-fit' before 'LSOAs' where an area is made of its best-fit LSOAs."""
    return " best-fit" if geography.best_fit else ""


# Per-metric measures: description template, unit template, direction.
_MEASURE_DOCS = {
    "score": (
        "Population-weighted mean of the LSOA {label} scores (weights: {denominator})",
        "{score_unit}",
        _HIGHER_MORE,
    ),
    "rank": ("Rank of the {label} score among all {nouns} in England", "rank", _LOWER_MORE),
    "decile": (
        "Decile of the {label} rank among {nouns}: ceil(rank x 10 / number of {nouns})",
        "decile 1-10",
        "1 = most deprived 10% of {nouns}",
    ),
    "average_rank": (
        "Population-weighted mean of the LSOAs' national {label} ranks{ties}, reported MHCLG's"
        " way as {after} minus the mean rank (weights: {denominator})",
        "rank (1-{n})",
        _HIGHER_MORE,
    ),
    "proportion_most_deprived_10": (
        "Share of the {noun}'s LSOAs (by count) in the most deprived 10% of LSOAs in England"
        " for {label}",
        "proportion 0-1",
        _HIGHER_MORE,
    ),
    "extent": (
        "Extent: population share living in the most deprived 30% of LSOAs nationally,"
        " weighted 1 for the most deprived 10% and sliding from 0.95 to 0.05 over percentiles"
        " 11-30 ({label})",
        "proportion 0-1",
        _HIGHER_MORE,
    ),
    "local_concentration": (
        "Local concentration: population-weighted mean reversed rank ({after} - rank) of the"
        " {noun}'s most deprived LSOAs holding exactly 10% of its population ({label}){ties}",
        "rank (1-{n})",
        _HIGHER_MORE,
    ),
    "scale": (
        "Scale: estimated number of people {label_lower}, the sum over LSOAs of score (rate) x"
        " {denominator}",
        "people (estimate)",
        "higher = more people deprived",
    ),
}
# The change package's per-metric columns (``imd_rank_19``): description, unit, direction.
_CHANGE_DOCS = {
    **{
        f"{measure}_{str(year)[-2:]}": docs
        for year in (EARLIER, 2025)
        for measure, docs in {
            "rank": (
                f"Rank among the {{areas:,}} {{nouns}} in IoD{year}, by {{basis}}",
                "rank",
                _LOWER_MORE,
            ),
            "decile": (
                f"Decile among {{nouns}} in IoD{year}: ceil(rank x 10 / {{areas:,}})",
                "decile 1-10",
                "1 = most deprived 10% of {nouns}",
            ),
        }.items()
    },
    "rank_change": (
        f"Rank in 2025 minus rank in {EARLIER}: a change of relative position, not of deprivation",
        "ranks",
        "negative = moved towards the most deprived",
    ),
    "decile_change": (
        f"Decile in 2025 minus decile in {EARLIER}",
        "deciles",
        "negative = moved towards the most deprived",
    ),
}
_CHANGE_BASIS = {
    True: "the population-weighted average of its LSOAs' {label_lower} scores",
    False: "the population-weighted average of its LSOAs' national {label} ranks",
}
_CHANGE_COMPARABILITY = (
    f"How the {EARLIER} values were made: {EXACT} (every 2011 LSOA in the {{noun}} lies wholly "
    f"inside it) or {APPORTIONED} (a 2011 LSOA split across {{nouns}} counts in each by "
    f"{SPLIT_RULE})",
    f"text ({EXACT}, {APPORTIONED})",
)
CHANGE_NOTE = (
    "MHCLG says IoD2025 changed indicators and denominators and is less directly comparable "
    f"with IoD{EARLIER}: compare relative positions (ranks and deciles), not scores. So this "
    "table holds ranks and deciles only. Each MSOA's 2019 values come from the 2011 LSOAs "
    f"inside it; where a 2011 LSOA is split across MSOAs the MSOA is flagged {APPORTIONED}."
)
_CHANGE_DENOMINATOR = (
    f"The metric's population in each edition (IoD{EARLIER}: mid-2015; IoD2025: mid-2022)"
)
# Notes a dataset carries beyond its geography's, by dataset name.
_DATASET_NOTES = {CHANGE.dataset: [("Comparability", CHANGE_NOTE)]}

# Ranks among the areas of one parent (``--within``): ``<metric>_<measure>_in_<parent>``.
_WITHIN_DOCS = {
    "rank": (
        "Rank of the {label} score among the {nouns} in the same {parent}",
        "rank",
        _LOWER_MORE,
    ),
    "decile": (
        "Decile of the {label} rank among the {nouns} in the same {parent}: ceil(rank x 10 /"
        " number of them); empty where the {parent} has fewer than {fewest}",
        "decile 1-10",
        "1 = most deprived 10% of the {parent}'s {nouns}",
    ),
}
# Measures whose denominator is not the metric's population (the others' is).
_COUNT_DENOMINATORS = {"proportion_most_deprived_10": "Number of LSOAs in the {noun} (n_lsoa)"}

# A decile column left empty (fewer than MIN_AREAS_FOR_DECILES areas): description, unit,
# direction, as in _MEASURE_DOCS.
_EMPTY_DECILE_DOCS = (
    "Decile of the {label} rank among {nouns}: not given (empty), fewer than {fewest} {nouns};"
    " use the rank",
    "empty (fewer than {fewest} {nouns})",
    "empty (fewer than {fewest} {nouns})",
)


def empty_deciles(table: pd.DataFrame) -> list[str]:
    """The decile columns the ranking left empty: too few areas (see ``_ranking``)."""
    columns = [c for c in (f"{m.short}_decile" for m in METRICS) if c in table.columns]
    return [c for c in columns if len(table) and table[c].isna().all()]


def no_deciles_note(geography: Geography) -> str:
    """Why a table with fewer than 10 areas has no deciles, and what to use instead."""
    return (
        f"Deciles not given: fewer than {MIN_AREAS_FOR_DECILES} {geography.nouns}; use the rank "
        f"(1 = most deprived). With so few areas, ceil(rank x 10 / number of {geography.nouns}) "
        "would leave decile 1 empty, so the decile columns are left empty. The Parquet file "
        "and GeoPackage keep their integer type; a CSV cannot type an empty column, so tools "
        "that guess types from the CSV (DuckDB, for one) read them as text."
    )


def area_notes(geography: Geography, *, deciles: bool = True) -> list[tuple[str, str]]:
    """What to know before using a geography's table, by topic: best fit, missing deciles."""
    notes = [("Best fit", geography.note)] if geography.note else []
    notes += _DATASET_NOTES.get(geography.dataset, [])
    return notes + ([] if deciles else [("Deciles", no_deciles_note(geography))])


def data_dictionary(
    columns: list[str], geography: Geography = MSOA, empty: Collection[str] = ()
) -> pd.DataFrame:
    """Describe every output column (meaning, unit, denominator, direction) from METRICS.

    ``empty``: decile columns left empty (see :func:`empty_deciles`), described as such.
    """
    edition = edition_of(geography.edition)
    denominators = {d.short: d.label for d in edition.denominators}
    weights = {m.short: m.denominator for m in edition.engine_metrics}
    fixed = _fixed_columns(geography)
    fit = _best_fit(geography)
    rows = []
    for col in columns:
        if col in fixed:
            desc, unit = fixed[col]
            rows.append((col, desc, unit, "", "", ""))
        elif col == "comparability":
            desc, unit = _CHANGE_COMPARABILITY
            rows.append(
                (col, desc.format(noun=geography.noun, nouns=geography.nouns), unit, "", "", "")
            )
        elif col in denominators:
            summed = f"{denominators[col]}, summed over the {geography.noun}'s{fit} LSOAs"
            rows.append((col, summed, "people", "", "", ""))
        else:
            short, measure = _split_metric_column(col)
            metric = next(m for m in edition.engine_metrics if m.short == short)
            measure, _, parent = measure.partition("_in_")
            desc, unit, direction = (
                _WITHIN_DOCS[measure]
                if parent
                else _EMPTY_DECILE_DOCS
                if col in empty
                else (_MEASURE_DOCS | _CHANGE_DOCS)[measure]
            )
            basis = _CHANGE_BASIS[short in CHANGE_BY_SCORE]
            fields = {
                "areas": geography.areas,
                "label": metric.label,
                "label_lower": metric.label.lower(),
                "denominator": denominators[weights[short]].lower(),
                "after": f"{edition.expected_lsoas + 1:,}",
                "n": f"{edition.expected_lsoas:,}",
                "ties": _TIES if edition.summary_ranks == MEAN else "",
                "score_unit": metric.score_unit,
                "noun": geography.noun,
                "nouns": geography.nouns,
                "fewest": MIN_AREAS_FOR_DECILES,
                "parent": GEOGRAPHIES[parent].noun if parent else "",
            }
            fields["basis"] = basis.format(**fields)
            rows.append(
                (
                    col,
                    desc.format(**fields),
                    unit.format(**fields),
                    _CHANGE_DENOMINATOR
                    if measure in _CHANGE_DOCS
                    else _COUNT_DENOMINATORS.get(measure, denominators[metric.denominator]).format(
                        **fields
                    ),
                    direction.format(**fields),
                    metric.short,
                )
            )
    return pd.DataFrame(
        rows, columns=["column", "description", "unit", "denominator", "direction", "metric"]
    )


# How the average rank and local concentration take tied LSOAs, where the edition's rule
# is MHCLG's summaries' (``_ties``).
_TIES = " (tied LSOAs each taking the mean rank of their tie group, as MHCLG's summaries do)"


def _title(geography: Geography) -> str:
    """The edition's name: "English Indices of Deprivation 2025"."""
    return edition_of(geography.edition).title


def _split_metric_column(col: str) -> tuple[str, str]:
    for metric in sorted(METRICS, key=lambda m: -len(m.short)):
        prefix = f"{metric.short}_"
        measure, _, parent = col[len(prefix) :].partition("_in_")
        known = (
            measure in _WITHIN_DOCS and parent in GEOGRAPHIES
            if parent
            else measure in (_MEASURE_DOCS | _CHANGE_DOCS)
        )
        if col.startswith(prefix) and known:
            return metric.short, col[len(prefix) :]
    raise KeyError(f"no description for output column {col!r}")


def dictionary_markdown(
    dictionary: pd.DataFrame,
    provenance: Provenance,
    geography: Geography = MSOA,
    *,
    deciles: bool = True,
) -> str:
    """The data dictionary as a Markdown page, with the licence and sources."""
    g = geography
    lines = [
        f"# {g.dataset}: data dictionary",
        "",
        f"{_title(g)} aggregated from LSOAs to {g.nouns}; "
        f"{provenance.rows:,} rows, one per {g.noun}{_where(g)}. Package version "
        f"{provenance.version}, built {provenance.created}.",
        "",
        *(
            line
            for topic, text in area_notes(g, deciles=deciles)
            for line in (f"**{topic}.** {text}", "")
        ),
        "| column | description | unit | denominator | direction |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| `{r.column}` | {r.description} | {r.unit} | {r.denominator} | {r.direction} |"
        for r in dictionary.itertuples()
    ]
    lines += ["", "## Sources and licences", ""]
    lines += [
        f"- **{i.title}** ({i.status}): {i.attribution} Licence: {i.licence}."
        for i in provenance.inputs.values()
    ]
    return "\n".join(lines) + "\n"


def _field_type(dtype: Any) -> str:
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    return "string"


def datapackage(
    folder: Path,
    table: pd.DataFrame,
    dictionary: pd.DataFrame,
    provenance: Provenance,
    geography: Geography = MSOA,
    *,
    deciles: bool = True,
) -> dict[str, Any]:
    """A Frictionless data package describing every file: rows, bytes, sha256 and fields.

    Lets users (and our tests) check a download against its description. Empty cells are
    missing values (Frictionless's default), as the deciles of fewer than 10 areas are.
    """
    about = " ".join(text for _, text in area_notes(geography, deciles=deciles))
    fields = [
        {"name": r.column, "type": _field_type(table[r.column].dtype), "description": r.description}
        | ({"unit": r.unit} if r.unit else {})
        for r in dictionary.itertuples()
    ]
    resources = []
    for key, name in output_files(geography.dataset).items():
        if key == "datapackage":
            continue
        resource = file_resource(folder, name, key)
        if key in TABLE_FORMATS:
            resource |= {
                "type": "table",
                "mediatype": TABLE_FORMATS[key],
                "rows": len(table),
                "schema": {"fields": fields, "primaryKey": geography.code},
            }
        elif key in FILE_FORMATS:
            resource |= {"type": "file", "mediatype": FILE_FORMATS[key]}
        resources.append(resource)
    return {
        "name": geography.dataset.replace("_", "-"),
        "title": f"{_title(geography)} for {geography.title}",
        **({"description": about} if about else {}),
        "version": provenance.version,
        "created": provenance.created,
        "licenses": [LICENCE],
        "sources": [
            {"title": i.title, "path": provenance.official_urls[n], "status": i.status}
            for n, i in provenance.inputs.items()
        ],
        "resources": resources,
    }


def register_file(folder: Path, name: str, about: dict[str, Any]) -> None:
    """Add (or replace) ``name``'s entry in ``folder``'s datapackage.json, with ``about``."""
    path = folder / "datapackage.json"
    package = json.loads(path.read_text(encoding="utf-8"))
    others = [r for r in package["resources"] if r["path"] != name]
    package["resources"] = [*others, file_resource(folder, name) | about]
    write_json(path, package)


def gpkg_description(
    provenance: Provenance, geography: Geography = MSOA, *, deciles: bool = True
) -> str:
    """What the GeoPackage layer holds (its gpkg_contents description, which QGIS shows),
    with what to know first (best fit, no deciles), as the other files say it."""
    g = geography
    shapes = (
        "each shape is the union of its LSOAs' polygons"
        if g.shapes == "lsoa_boundaries"
        else "the shapes are ONS boundaries"
    )
    most = "Rank 1 and decile 1 are" if deciles else "Rank 1 is"
    return " ".join(
        [
            f"{_title(g)} aggregated from LSOAs to {g.title}: "
            f"{provenance.rows:,} rows, one per {g.noun}{_where(g)}; {shapes}. {most} the "
            "most deprived.",
            *(text for _, text in area_notes(g, deciles=deciles)),
            f"Built by iod-msoa {provenance.version}.",
        ]
    )


def xlsx_notes(
    provenance: Provenance, geography: Geography = MSOA, *, deciles: bool = True
) -> list[tuple[str, str]]:
    """The workbook's Notes: what it holds, how it was made, licence and provenance."""
    g, inputs = geography, provenance.inputs
    most = "Rank 1 and decile 1 are" if deciles else "Rank 1 is"
    put = (
        f"put in deciles with ceil(rank x 10 / number of {g.nouns})"
        if deciles
        else f"not put in deciles (fewer than {MIN_AREAS_FOR_DECILES})"
    )
    notes = [
        (
            "What",
            f"The {_title(g)} (IoD{g.edition}) aggregated from LSOAs to "
            f"{g.title}: {provenance.rows:,} rows, one per {g.noun}{_where(g)}. {most} "
            "the most deprived.",
        ),
        *area_notes(g, deciles=deciles),
        (
            "Method",
            f"Each {g.noun}'s score is the mean of its LSOAs' scores weighted by the metric's "
            f"population denominator; {g.nouns} are ranked by score (1 = highest) and {put}. "
            f"The summary measures follow the IoD{g.edition} Technical Report and reproduce "
            "MHCLG's local authority summaries.",
        ),
        (
            "Precision",
            f"Numbers rounded to {CSV_DECIMALS} decimals, as in the CSV; the Parquet file has "
            "full precision.",
        ),
        ("Licence", f"{LICENCE['title']} ({LICENCE['path']})"),
        *(
            (f"Source: {i.title}", f"{i.attribution} Licence: {i.licence}.")
            for i in inputs.values()
        ),
        ("Package", f"iod-msoa {provenance.version}"),
        ("Built", f"{provenance.created} ({provenance.created_from})"),
        *(
            (
                f"Input: {name}",
                f"{i.file}, {i.size:,} bytes, sha256 {i.sha256} ({i.status})",
            )
            for name, i in inputs.items()
        ),
    ]
    if provenance.unverified:
        notes.append(
            (
                "Warning",
                "Built from inputs whose checksum differs from the official files: "
                + ", ".join(provenance.unverified)
                + ". Figures may differ from the official release.",
            )
        )
    return notes


_FIT_FIELDS = {
    "area_code": "Area code, as given",
    "area_name": "Area name, as given",
    "n_lsoa": "Number of LSOAs (2021) whose population-weighted centroid lies in the polygon",
    "population": "Total population (File 7) of those LSOAs",
    "polygon_km2": "Area of the polygon as drawn, in square kilometres",
    "covered_share": "Share of the polygon's area covered by its LSOAs' (generalised) shapes",
    "n_straddling": "Number of LSOAs straddling the polygon's edge (see the straddling file)",
    "lsoa21cd": "LSOA code (2021)",
    "share_in_area": "Share of the LSOA's area inside the polygon of the area it is placed in",
    "share_outside": "Share of the LSOA's area outside every polygon",
    "overlaps": "The areas whose polygons hold over 10% of the LSOA",
}


def fit_resources(geography: Geography) -> dict[str, dict[str, Any]]:
    """Data package entries (description, fields) for the fit report of a user's polygons."""
    about = {
        "fit": (
            "How well best-fit LSOAs match each polygon: LSOAs and people placed, the share of"
            " the polygon they cover, and how many straddle its edge",
            (
                "area_code",
                "area_name",
                "n_lsoa",
                "population",
                "polygon_km2",
                "covered_share",
                "n_straddling",
            ),
        ),
        "straddling": (
            "LSOAs with over 10% of their area in a second polygon or outside all of them; each"
            f" counts wholly in one {geography.noun}. LSOA shapes are generalised (BSC), so"
            " small shares come from the generalisation, not the polygons",
            ("lsoa21cd", "area_code", "share_in_area", "share_outside", "overlaps"),
        ),
    }
    return {
        key: {
            "description": text,
            "mediatype": "text/csv",
            "schema": {"fields": [{"name": f, "description": _FIT_FIELDS[f]} for f in fields]},
        }
        for key, (text, fields) in about.items()
    }
