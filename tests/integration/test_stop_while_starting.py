"""``nameko run`` starts a process' containers together and, on SIGTERM,
stops them whatever they are doing. A container still starting - its
consumer connecting to the broker - had its entrypoints stopped under it,
then started its consumer anyway, and the process never exited (here,
in-process, the stop raised: nameko's queue consumer had no thread yet to
kill). Its stop now waits for its start to end
(``shared.settings.CheckedContainer``)."""

from __future__ import annotations

import eventlet
from nameko.events import event_handler

from shared.settings import CheckedContainer


class Listening:
    name = "listening"

    @event_handler("nobody", "nothing_happened")
    def on_nothing(self, payload):
        pass


def test_a_container_told_to_stop_while_starting_stops(backing):
    container = CheckedContainer(Listening, {"AMQP_URI": backing.amqp_uri})
    try:
        starting = eventlet.spawn(container.start)
        eventlet.sleep(0)  # the start is under way: its consumer not yet connected
        assert container.started
        # a guard against the hang, not a measure: the stop takes a second or two
        with eventlet.Timeout(30, False):
            container.stop()
        assert not container.started
        starting.wait()
    finally:
        container.kill()
