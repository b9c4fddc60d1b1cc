"""The probes' database check pings once for probes that come together:
each probe pinged under its own 0.5 s, and on a loaded machine one of a
burst of 20 overran it - a healthy database reported down (seen in a run
of the suite beside other work)."""

from __future__ import annotations

import eventlet
from eventlet.event import Event

from shared.mongo import DatabaseCheck


class SlowStore:
    """A store whose ping waits until the test lets it answer."""

    def __init__(self):
        self.pings, self.go = 0, Event()

    def ping(self) -> None:
        self.pings += 1
        self.go.wait()


def test_probes_arriving_while_a_ping_is_out_take_its_answer():
    check, store = DatabaseCheck(), SlowStore()
    check.setup()
    probes = [eventlet.spawn(check.answers, store) for _ in range(20)]
    eventlet.sleep(0)  # every probe has arrived; the first one's ping is out
    store.go.send()
    assert [probe.wait() for probe in probes] == [True] * 20
    assert store.pings == 1
    # a probe after that ping asks again
    assert check.answers(store) is True and store.pings == 2
