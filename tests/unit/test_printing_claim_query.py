"""The store's claim filters say what ``domain.is_claimable`` says.

The claim re-checks each job atomically in its ``update_many``, so the rule is
written twice: once in Python, once as a MongoDB filter (a flat one). This
test holds them together without a database, by reading the filter with the
few operators it uses.
"""

from __future__ import annotations

import datetime

import pytest

from services.printing.domain import is_claimable
from services.printing.stations import claimable_query

NOW = datetime.datetime(2025, 6, 5, 3, 0, tzinfo=datetime.timezone.utc)
MINUTE = datetime.timedelta(minutes=1)


def matches(query: dict, doc: dict) -> bool:
    """MongoDB's reading of equality, ``$in`` and ``$not: {$gte}`` (null is
    not at or above any date, so a missing date matches)."""
    def field_matches(name, condition):
        value = doc.get(name)
        if not isinstance(condition, dict):
            return value == condition
        [(operator, bound)] = condition.items()
        if operator == "$in":
            return value in bound
        assert operator == "$not" and list(bound) == ["$gte"], f"the test does not read {condition}"
        return value is None or value < bound["$gte"]

    return all(field_matches(name, condition) for name, condition in query.items())


@pytest.mark.parametrize("job", [
    {"status": "queued", "lease_until": None},
    {"status": "leased", "lease_until": NOW + MINUTE},
    {"status": "leased", "lease_until": NOW},
    {"status": "leased", "lease_until": NOW - MINUTE},
    {"status": "printed", "lease_until": None},
    {"status": "printed", "lease_until": NOW - MINUTE},
    {"status": "held", "lease_until": None},
    {"status": "cancelled", "lease_until": None},
])
def test_claim_query_agrees_with_is_claimable(job):
    query = claimable_query(NOW)
    assert matches(query, job) == is_claimable(job, NOW)
    assert "$or" not in query and "$and" not in query
