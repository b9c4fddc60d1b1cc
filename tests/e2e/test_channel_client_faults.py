"""The channel client under faults, against the real broker and stack: a
network that silently stops carrying the connection, a broker that refuses
the reconnection or the exchange, a broker gone while a reply is awaited.
Every call ends in time, names its request, and keeps nothing of it."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from urllib.parse import quote

import pytest
from pika.exceptions import ChannelClosedByBroker

from clients.channel import ChannelClient, ChannelRefused, ChannelUnavailable
from deploy.local.stack import free_port
from deploy.topology import provision_channel_user, vhost_of
from tests.e2e import test_channel
from tests.faults.proxy import TcpProxy
from tests.helpers import valid_body

channel_users = test_channel.channel_users  # the fixture: a user of this run per channel


class Blackhole:
    """Forwards TCP to the broker until ``stall()``; then every byte either
    way is read and dropped, the connections left open - what a client sees
    of a firewall or a link that silently drops its packets. Listens on a
    port of this test run's own range (``LOCAL_FREE_PORTS``)."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.stalled, self.sockets = target, threading.Event(), []
        self.listener = socket.create_server(("127.0.0.1", free_port()))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                near, _ = self.listener.accept()
            except OSError:  # closed
                return
            far = socket.create_connection(self.target)
            self.sockets += [near, far]
            threading.Thread(target=self.carry, args=(near, far), daemon=True).start()
            threading.Thread(target=self.carry, args=(far, near), daemon=True).start()

    def carry(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                if not self.stalled.is_set():
                    sink.sendall(chunk)
        except (OSError, EOFError):  # closed; eventlet's green socket, closed under a
            pass  # recv, raises EOFError (a thread-exception warning in every CI run)

    def stall(self) -> None:
        self.stalled.set()

    def close(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def blackhole():
    proxy = Blackhole(("127.0.0.1", 5672))
    yield proxy
    proxy.close()


def through(url: str, port: int) -> str:
    return url.replace("127.0.0.1:5672", f"127.0.0.1:{port}")


@pytest.mark.parametrize("call", ["publish", "submit"])
def test_a_call_on_a_connection_the_network_stopped_carrying_ends_in_time(
        channel_users, blackhole, call):
    """Outside review: publish() raised ChannelUnavailable after 139.9 s,
    waiting on its confirm until the broker's 60-s heartbeat gave up, then
    on a reconnection; submit's timeout covered only its wait. Now the
    client's 10-s heartbeat notices within 15-30 s, and no reconnection is
    tried past the call's timeout."""
    client = ChannelClient(through(channel_users["web"], blackhole.port), "web")
    try:
        assert client.submit(valid_body(), timeout=60).status == 202
        blackhole.stall()
        started = time.monotonic()
        with pytest.raises(ChannelUnavailable) as unavailable:
            getattr(client, call)(valid_body(), timeout=5)
        took = time.monotonic() - started
        assert took < 35, f"{call} took {took:.1f}s"
        assert unavailable.value.request_id
        assert client.pending == {} and client.replies == {}
    finally:
        client.close()


def test_a_reconnection_refused_names_the_request_and_keeps_nothing(system, channel_users):
    """A password rotated while a client was connected: the reconnection is
    refused (``ChannelRefused``), and the request the call may have sent
    had no id on the exception - a caller who let the client make it could
    not publish the same one again (outside review)."""
    vhost, user = vhost_of(system.amqp_uri), f"test-rotated-{uuid.uuid4().hex[:8]}"
    provision_channel_user(vhost, user, "first", "web")
    url = f"amqp://{user}:first@127.0.0.1:5672/{quote(vhost, safe='')}"
    client = ChannelClient(url, "web")
    try:
        assert client.submit(valid_body(), timeout=60).status == 202
        provision_channel_user(vhost, user, "second", "web")
        assert test_channel.close_connections_of(url) >= 1
        with pytest.raises(ChannelRefused) as refused:
            client.publish(valid_body())
        assert refused.value.cause == "credentials" and refused.value.request_id
        assert client.pending == {}
    finally:
        client.close()
        subprocess.run(["rabbitmqctl", "delete_user", user], capture_output=True)


def test_a_publish_the_broker_refuses_names_its_request(channel_users):
    client = ChannelClient(channel_users["web"], "app")  # the web user on the app's exchange
    try:
        with pytest.raises(ChannelClosedByBroker) as refused:
            client.publish(valid_body(), request_id="mine-1")
        assert refused.value.request_id == "mine-1" and client.pending == {}
    finally:
        client.close()


def test_a_wait_without_its_broker_names_its_request_and_forgets_it(channel_users):
    """wait() kept the application (NIK, KK, name, phone) in ``pending`` when
    it raised ChannelUnavailable, and a late reply with it; its
    ``request_id`` was None (outside review)."""
    broker = TcpProxy(("127.0.0.1", 5672))
    client = ChannelClient(through(channel_users["web"], broker.port), "web")
    try:
        request_id = client.publish(valid_body())
        broker.cut()
        with pytest.raises(ChannelUnavailable) as unavailable:
            client.wait(request_id, timeout=60)
        assert unavailable.value.request_id == request_id
        assert client.pending == {} and client.replies == {} and client.awaited == set()
    finally:
        client.close()
        broker.close()
