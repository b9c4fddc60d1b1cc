"""The store's claim filters say what ``domain.is_claimable`` says.

The claim re-checks each job atomically in its ``update_many``, so the rule is
written twice: once in Python, once as MongoDB filters (flat ones, one per
way a job is claimable). This test holds them together without a database,
by reading the filters with the few operators they use.
"""

from __future__ import annotations

import datetime

import pytest

from services.printing.domain import is_claimable
from services.printing.stations import claimable_queries

NOW = datetime.datetime(2025, 6, 5, 3, 0, tzinfo=datetime.timezone.utc)
MINUTE = datetime.timedelta(minutes=1)


def matches(query: dict, doc: dict) -> bool:
    """MongoDB's reading of ``$or``, equality and ``$lt`` (null is below no date)."""
    def field_matches(name, condition):
        value = doc.get(name)
        if isinstance(condition, dict):
            [(operator, bound)] = condition.items()
            assert operator == "$lt", f"the test does not read {operator}"
            return value is not None and value < bound
        return value == condition

    return all(any(matches(branch, doc) for branch in condition) if name == "$or"
               else field_matches(name, condition) for name, condition in query.items())


@pytest.mark.parametrize("job", [
    {"status": "queued", "lease_until": None},
    {"status": "leased", "lease_until": NOW + MINUTE},
    {"status": "leased", "lease_until": NOW},
    {"status": "leased", "lease_until": NOW - MINUTE},
    {"status": "leased", "lease_until": None},
    {"status": "printed", "lease_until": None},
    {"status": "printed", "lease_until": NOW - MINUTE},
])
def test_claim_query_agrees_with_is_claimable(job):
    matched = [query for query in claimable_queries(NOW) if matches(query, job)]
    assert bool(matched) == is_claimable(job, NOW)
    assert len(matched) <= 1  # a job matches one filter at most: claimed once
    assert all("$or" not in query and "$and" not in query for query in claimable_queries(NOW))
