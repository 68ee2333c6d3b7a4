"""Typed provenance for tests that need one without a build: every field given a plain value."""

from __future__ import annotations

from typing import Any

from iod_msoa._folder import InputRecord, Provenance


def input_record(name: str, **fields: Any) -> InputRecord:
    """One input's record, named ``name``; ``fields`` override the plain values."""
    values = {
        "file": f"{name}.csv",
        "name": name,
        "url": None,
        "sha256": "a" * 64,
        "size": 1,
        "expected_sha256": None,
        "status": "unpinned",
        "origin": "local",
        "title": f"Title of {name}",
        "licence": "Open Government Licence v3.0",
        "attribution": "Source: ONS",
    }
    return InputRecord(**(values | fields))


def make_provenance(**fields: Any) -> Provenance:
    """A provenance with no inputs unless ``inputs`` is given; ``fields`` override the rest."""
    values = {
        "dataset": "iod25_msoa",
        "geography": "msoa21",
        "package": "iod-msoa",
        "version": "0",
        "created": "now",
        "created_from": "test",
        "rows": 1,
        "fingerprint": "f" * 64,
        "allow_unverified": False,
        "unverified": (),
        "inputs": {},
        "official_urls": {},
    }
    return Provenance(**(values | fields))
