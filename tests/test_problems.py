"""The one rule that turns problem records into a message."""

from __future__ import annotations

import pytest

from iod_msoa._errors import SchemaError
from iod_msoa._problems import MAX_PROBLEMS, Problem, fail, render

FIVE = [Problem(f"problem {i}") for i in range(1, 6)]


def test_at_most_three_problems_are_listed_and_the_rest_counted():
    assert MAX_PROBLEMS == 3
    assert render("f.csv", FIVE) == "f.csv: problem 1; problem 2; problem 3; and 2 more problem(s)"


def test_three_problems_or_fewer_are_listed_whole():
    assert render("f.csv", FIVE[:3]) == "f.csv: problem 1; problem 2; problem 3"
    assert render("f.csv", FIVE[:1]) == "f.csv: problem 1"


def test_a_package_table_lists_every_problem():
    assert render("t.toml", FIVE, every=True).endswith("problem 4; problem 5")


def test_fail_raises_only_when_there_are_problems():
    fail("f.csv", [], SchemaError)
    with pytest.raises(SchemaError, match=r"^f\.csv: problem 1; .* and 2 more problem\(s\)$"):
        fail("f.csv", FIVE, SchemaError)
