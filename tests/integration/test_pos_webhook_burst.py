"""A burst of Pos' webhooks waits for courier's workers instead of being
refused: Pos does not send a refused webhook again, so a 503 left its news
to polling, hours later (outside audit P4: 8 signed webhooks at once, 4
answered 503 - the writes budget, half of courier's 8 workers, shared with
the operators). The webhook has a budget of its own, every worker
(``ADMISSION_PARTNERS``), and more than the workers wait for one (outside
audit R2: 16 at once, 7 refused; courier's config.yaml allows 64). The
webhooks are held in flight by freezing the database server of the test's
own (SIGSTOP), then let go."""

from __future__ import annotations

import signal
import threading
import time
import uuid

import requests

from deploy.local.stack import DEV_SECRETS, free_port
from services.courier.service import CourierApi
from tests.helpers import eventually
from tests.integration.test_courier_retention import signed
from tests.integration.test_database_outage import database_server


BURST = 16  # twice courier's workers


def news(barcode: str) -> dict:
    return {"eventId": uuid.uuid4().hex, "barcode": barcode, "status": "IN_TRANSIT",
            "at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}


def test_a_burst_of_pos_webhooks_waits_for_the_workers(backing, container_factory):
    port = free_port()
    with database_server(backing, "courier_burst", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
                         MONGO_TIMEOUT_MS=20000, max_workers=8,
                         ADMISSION_PARTNERS=BURST, **{
                             key: DEV_SECRETS[key] for key in
                             ("POS_CLIENT_ID", "POS_CLIENT_SECRET", "POS_WEBHOOK_SECRET")}) \
            as (server, config):
        container_factory(CourierApi, config).start()
        webhook = f"http://127.0.0.1:{port}/api/v1/pos/webhook"
        assert requests.post(webhook, timeout=10, **signed(news("P0"))).status_code == 404
        answers, started = [], threading.Barrier(BURST + 1)

        def send():
            started.wait()
            answers.append(requests.post(webhook, timeout=60, **signed(news(
                f"P{uuid.uuid4().int % 10**12:012d}"))).status_code)
        senders = [threading.Thread(target=send) for _ in range(BURST)]
        server.send_signal(signal.SIGSTOP)
        try:
            for sender in senders:
                sender.start()
            started.wait()
            time.sleep(1.5)  # all in flight: 8 workers on the frozen database, 8 waiting
            assert answers == [], answers  # none refused at once
        finally:
            server.send_signal(signal.SIGCONT)
        for sender in senders:
            sender.join(60)
        # each an unknown barcode, answered as such: none refused for want of room
        assert sorted(answers) == [404] * BURST, answers
        eventually(lambda: requests.get(f"http://127.0.0.1:{port}/health/ready",
                                        timeout=5).status_code == 200, what="ready again")
