"""``shared.group_writes.ReadAhead``: one read serves the takers of a moment."""

from __future__ import annotations

import threading
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


def test_takers_at_once_share_one_read_and_never_get_an_item_twice():
    """Threads taking at once (as a service's workers do): one read while
    they wait, every item to exactly one of them."""
    reads = []

    def read():
        reads.append(1)
        time.sleep(0.05)  # a read takes a while: the others arrive meanwhile
        return list(range(len(reads) * 1000, len(reads) * 1000 + 400))

    ahead, handed, start = ReadAhead(seconds=60), [], threading.Event()

    def taker():
        start.wait()
        for _ in range(10):
            handed.extend(ahead.take(3, read))

    threads = [threading.Thread(target=taker) for _ in range(12)]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join()
    assert len(handed) == len(set(handed)) == 360
    assert len(reads) == 1


def test_a_forget_during_a_read_makes_the_next_take_read_again():
    reads, ahead = [], None

    def read():
        reads.append(1)
        if len(reads) == 1:
            ahead.forget()  # a job put back while the first read was on its way
        return ["a", "b", "c"]

    ahead = ReadAhead(seconds=60)
    assert ahead.take(1, read) == ["a"]
    assert ahead.take(1, read) == ["a"]  # read again: the first may have missed it
    assert ahead.take(1, read) == ["b"]
    assert len(reads) == 2


def test_a_read_that_found_all_there_was_is_not_repeated_until_more_is_queued():
    """A read finding fewer than ``whole_below`` read the whole queue: once
    handed out, takes answer nothing without a read - until items are
    queued behind it, it is forgotten, or it is old."""
    reads = []

    def read():
        reads.append(1)
        return ["a", "b"]

    ahead = ReadAhead(seconds=60, whole_below=3)
    assert not ahead.drained()
    assert ahead.take(5, read) == ["a", "b"]
    assert ahead.drained()
    assert ahead.take(5, read) == [] and len(reads) == 1  # no read
    ahead.more_queued()
    assert not ahead.drained()
    assert ahead.take(1, read) == ["a"] and len(reads) == 2
    assert not ahead.drained()  # one still to hand out
    ahead.more_queued()  # behind what is left: it still goes first
    assert ahead.take(1, read) == ["b"] and len(reads) == 2
    assert ahead.take(1, read) == ["a"] and len(reads) == 3
    assert ahead.take(1, read) == ["b"]
    ahead.forget()
    assert ahead.take(1, read) == ["a"] and len(reads) == 4


def test_a_read_that_found_as_many_as_whole_below_may_have_left_some():
    reads = []
    ahead = ReadAhead(seconds=60, whole_below=3)
    read = lambda: reads.append(1) or ["a", "b", "c"]  # noqa: E731
    assert ahead.take(3, read) == ["a", "b", "c"]
    assert not ahead.drained()
    assert ahead.take(3, read) == ["a", "b", "c"] and len(reads) == 2


def test_a_whole_read_older_than_its_seconds_is_read_again():
    reads = []
    ahead = ReadAhead(seconds=0.05, whole_below=10)
    read = lambda: reads.append(1) or []  # noqa: E731
    assert ahead.take(1, read) == [] and ahead.drained()
    time.sleep(0.1)
    assert not ahead.drained()
    assert ahead.take(1, read) == [] and len(reads) == 2


def test_items_queued_during_a_whole_read_make_the_next_take_read_again():
    reads, ahead = [], None

    def read():
        reads.append(1)
        if len(reads) == 1:
            ahead.more_queued()  # a job queued while the read was on its way
        return []

    ahead = ReadAhead(seconds=60, whole_below=10)
    assert ahead.take(1, read) == []
    assert not ahead.drained()  # the read may have missed it
    assert ahead.take(1, read) == [] and len(reads) == 2
    assert ahead.drained()


def test_a_read_that_was_not_made_changes_nothing():
    """``read()`` answering None (a claim out of reads) is no read: the
    takers after it read for themselves."""
    ahead = ReadAhead(seconds=60, whole_below=10)
    assert ahead.take(1, lambda: None) == []
    assert not ahead.drained()
    assert ahead.take(1, lambda: ["a"]) == ["a"]
