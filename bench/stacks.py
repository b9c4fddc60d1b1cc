"""A stack of a benchmark's own: every backing process, SecantusDB on disk as
``make run``, a RabbitMQ vhost of its own (removed afterwards), and the
services it names."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path

from deploy.local.stack import (LOAD_TEST_SETTINGS, Ports, Stack, background_nice_setting,
                                ensure_rabbitmq, ensure_vhost)


@contextlib.contextmanager
def own_stack(prefix: str, services: list[str], extra_env: dict | None = None):
    ensure_rabbitmq()
    vhost = f"smartdukcapil_bench_{uuid.uuid4().hex[:6]}"
    ensure_vhost(vhost)
    stack = Stack(Path(tempfile.mkdtemp(prefix=f"smartdukcapil-{prefix}-")), ports=Ports.free(),
                  amqp_uri=f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
                  extra_env={**LOAD_TEST_SETTINGS, **(extra_env or {})},
                  background_nice=background_nice_setting())
    try:
        stack.start_backing()
        stack.start_services(services)
        yield stack
    finally:
        stack.stop()
        os.system(f"rabbitmqctl delete_vhost {vhost} >/dev/null 2>&1")
