"""The store's claim query says what ``domain.is_claimable`` says.

The claim is one atomic ``find_one_and_update``, so the rule is written twice:
once in Python, once as a MongoDB filter. This test holds them together
without a database, by reading the filter with the few operators it uses.
"""

from __future__ import annotations

import datetime

import pytest

from services.printing.domain import is_claimable
from services.printing.store import claimable_query

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
    assert matches(claimable_query(NOW), job) == is_claimable(job, NOW)
