"""``shared.group_writes.Gatherings``: items for one key that come while the
first waits are settled together, once; each gets its own answer or error.
``Batches``: work of many workers settled in batches by whoever leads."""

from __future__ import annotations

import time

import pytest

from shared.group_writes import Batches, Gatherings
from tests.helpers import at_once

ITEMS = [("a", 1), ("a", 2), ("b", 3), ("a", 4)]


def test_items_of_one_key_are_settled_together_and_each_gets_its_answer():
    gatherings, settled = Gatherings(0.2), []

    def settle(items):
        settled.append(sorted(items))
        return [item * 10 for item in items]

    answers = at_once(len(ITEMS), lambda n: gatherings.join(*ITEMS[n], settle))

    assert answers == [10, 20, 30, 40]
    assert sorted(settled) == [[1, 2, 4], [3]]
    # the gathering closed: the next item of that key is settled on its own
    assert gatherings.join("a", 5, settle) == 50
    assert settled[-1] == [5]


def test_an_error_of_the_settling_reaches_every_member():
    gatherings = Gatherings(0.2)

    def settle(items):
        raise ValueError(f"{len(items)} items")

    answers = at_once(len(ITEMS), lambda n: gatherings.join(*ITEMS[n], settle))

    assert [str(answer) for answer in answers] == ["3 items", "3 items", "1 items", "3 items"]
    assert all(isinstance(answer, ValueError) for answer in answers)


def test_without_a_linger_every_item_is_settled_alone():
    gatherings, settled = Gatherings(0), []

    def settle(items):
        settled.append(items)
        return items

    assert at_once(len(ITEMS), lambda n: gatherings.join(*ITEMS[n], settle)) == [1, 2, 3, 4]
    assert sorted(settled) == [[1], [2], [3], [4]]


@pytest.mark.parametrize("answers", [[], [1, 2, 3, 4]])
def test_a_settling_that_answers_the_wrong_number_is_an_error_for_all(answers):
    gatherings = Gatherings(0.2)
    results = at_once(3, lambda n: gatherings.join("a", n, lambda items: answers))
    assert all(isinstance(result, ValueError) for result in results)


def test_batches_answer_each_item_and_fail_each_of_a_failed_batch():
    batches, settled = Batches(most=8), []

    def settle(items):
        settled.append(items)
        time.sleep(0.01)  # as a database round trip: the others join meanwhile
        if 13 in items:
            raise ValueError("13")
        return [item * 10 for item in items]

    answers = at_once(20, lambda n: batches.join(n, settle))

    failed = next(batch for batch in settled if 13 in batch)
    assert [answer if n not in failed else str(answer) for n, answer in enumerate(answers)] == [
        "13" if n in failed else n * 10 for n in range(20)]
    assert sorted(item for batch in settled for item in batch) == list(range(20))
    assert 1 < len(settled) < 20 and max(map(len, settled)) <= 8



def test_batches_count_what_each_item_weighs_and_a_heavy_one_goes_alone():
    batches, settled = Batches(most=10, size=len), []

    def settle(items):
        settled.append([len(item) for item in items])
        time.sleep(0.01)
        return [len(item) for item in items]

    items = ["x" * 4, "x" * 12, "x" * 3, "x" * 5, "x" * 1, "x" * 6, "x" * 2]
    answers = at_once(len(items), lambda n: batches.join(items[n], settle))

    assert answers == [len(item) for item in items]
    assert sorted(size for batch in settled for size in batch) == sorted(map(len, items))
    # a batch holds at most 10 (a 12 alone); the others joined while one was in flight
    assert all(sum(batch) <= 10 or batch == [12] for batch in settled), settled
    assert len(settled) < len(items)
