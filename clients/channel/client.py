"""A small client for a front-end's back-end on Smartdukcapil's broker
channel (contract: docs/channel-api.md). Depends on pika only.

    client = ChannelClient("amqp://smartdukcapil-web:<password>@broker:5672/smartdukcapil", "web")
    reply = client.submit({"document_type": "ktp_el", "channel": "web", ...})
    if reply.status == 202:
        tracking_code = reply.body["tracking_code"]
    else:  # 400: reply.body["error"]["fields"] names each field
        ...

Each request is published with a publisher confirm (``publish`` returns once
the broker has it, durably), with a request id: publish the same id again
(after a timeout, a crash) and intake answers the same and stores once.
Replies come to this client alone (RabbitMQ's direct reply-to: the client
consumes ``amq.rabbitmq.reply-to`` and names it in ``reply_to``), matched on
``correlation_id``; replies to other requests of this client that arrive
meanwhile are kept for their own ``wait``. A client is not thread-safe
(pika's BlockingConnection is not): one client per thread, each getting
only its own replies.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import pika

# RabbitMQ's direct reply-to: a consumer of this name on the channel a
# request is published from gets the replies to that request, and no one else
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"


class ReplyTimeout(Exception):
    """No reply within the timeout: publish the same request id again later."""


@dataclass(frozen=True)
class Reply:
    request_id: str
    status: int  # what HTTP would answer: 202, 400, 409, 503 ...
    body: dict   # the HTTP answer's body


def exchange_name(channel: str) -> str:
    return f"intake.channel.{channel}"


class ChannelClient:
    def __init__(self, amqp_url: str, channel: str, lang: str = "id"):
        self.channel_name, self.lang = channel, lang
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        self.replies: dict[str, Reply] = {}
        self.channel.basic_consume(DIRECT_REPLY_TO, self._on_reply, auto_ack=True)

    def publish(self, application: dict, request_id: str | None = None) -> str:
        """Publish one request; returns its id once the broker confirmed it
        (pika raises if the broker refuses it)."""
        request_id = request_id or str(uuid.uuid4())
        self.channel.basic_publish(
            exchange_name(self.channel_name), "", json.dumps(application).encode(),
            pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                 message_id=request_id, correlation_id=request_id,
                                 reply_to=DIRECT_REPLY_TO,
                                 headers={"accept-language": self.lang}))
        return request_id

    def wait(self, request_id: str, timeout: float = 30.0) -> Reply:
        """The reply to ``request_id``, or ``ReplyTimeout``."""
        deadline = time.monotonic() + timeout
        while request_id not in self.replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ReplyTimeout(request_id)
            self.connection.process_data_events(time_limit=min(left, 1.0))
        return self.replies.pop(request_id)

    def submit(self, application: dict, request_id: str | None = None,
               timeout: float = 30.0) -> Reply:
        return self.wait(self.publish(application, request_id), timeout)

    def _on_reply(self, channel, method, properties, body) -> None:
        answer = json.loads(body)
        self.replies[properties.correlation_id] = Reply(answer["request_id"], answer["status"],
                                                        answer["body"])

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()
