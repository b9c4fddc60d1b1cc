"""``shared.group_writes.ReadAhead``: one read serves the takers of a moment."""

from __future__ import annotations

import time

from shared.group_writes import ReadAhead


def test_one_read_is_handed_out_in_order_each_item_once_then_read_again():
    reads = []

    def read():
        reads.append(len(reads))
        return [f"job-{len(reads)}-{n}" for n in range(5)]

    ahead = ReadAhead(seconds=60)
    assert ahead.take(2, read) == ["job-1-0", "job-1-1"]
    assert ahead.take(2, read) == ["job-1-2", "job-1-3"]
    assert ahead.take(2, read) == ["job-1-4"]  # what is left: the read found no more
    assert len(reads) == 1
    assert ahead.take(2, read) == ["job-2-0", "job-2-1"]  # used up: read again
    ahead.forget()  # a change the read may have missed
    assert ahead.take(1, read) == ["job-3-0"]
    assert len(reads) == 3


def test_a_read_older_than_its_seconds_is_read_again():
    reads = []
    ahead = ReadAhead(seconds=0.05)
    read = lambda: reads.append(1) or ["a", "b", "c"]  # noqa: E731
    assert ahead.take(1, read) == ["a"]
    time.sleep(0.1)
    assert ahead.take(1, read) == ["a"]
    assert len(reads) == 2
