"""The front-ends' broker channel, against the real broker and the real stack:
a channel back-end publishes application requests with confirms and gets
what HTTP would have answered on its reply queue; the broker keeps each
channel to its own exchange and replies."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from urllib.parse import urlsplit

import pika
import pytest
import requests
from pika.exceptions import ChannelClosedByBroker

from clients.channel import ChannelClient, ChannelUnavailable, ReplyTimeout, RequestNotQueued
from clients.channel.client import DIRECT_REPLY_TO
from deploy.topology import provision_channel_user, vhost_of
from tests.e2e.test_secrets_and_limits import assert_not_on_kk, first_card, new_client, seed_people
from tests.faults.proxy import TcpProxy
from tests.helpers import eventually, valid_body


@pytest.fixture(scope="module")
def channel_users(system):
    """A RabbitMQ user of this run for each channel: name -> AMQP URL."""
    vhost, tag = vhost_of(system.amqp_uri), uuid.uuid4().hex[:8]
    urls = {}
    for channel in ("web", "app"):
        user, password = f"test-{tag}-{channel}", uuid.uuid4().hex
        provision_channel_user(vhost, user, password, channel)
        urls[channel] = (f"amqp://{user}:{password}@127.0.0.1:5672/"
                         f"{requests.utils.quote(vhost, safe='')}")
    yield urls
    for channel in urls:
        subprocess.run(["rabbitmqctl", "delete_user", f"test-{tag}-{channel}"],
                       capture_output=True)


@pytest.fixture
def web(channel_users):
    client = ChannelClient(channel_users["web"], "web", lang="en")
    yield client
    client.close()


def stored(mongo, nik: str) -> int:
    return mongo["intake"].applications.count_documents({"applicant.nik": nik})


def test_a_valid_request_gets_its_tracking_code_and_the_application_exists(system, web):
    body = valid_body()
    reply = web.submit(body)
    assert reply.status == 202, reply.body
    lookup = requests.post(f"{system.url('intake')}/api/v1/applications/status", timeout=10,
                           json={"tracking_code": reply.body["tracking_code"],
                                 "nik": body["applicant"]["nik"]})
    assert lookup.status_code == 200, lookup.text
    assert lookup.json()["status"] == "submitted"


def test_a_bad_request_gets_the_field_errors_and_stores_nothing(system, web, mongo):
    body = valid_body()
    body["applicant"]["full_name"] = ""
    reply = web.submit(body)
    assert reply.status == 400
    assert reply.body["error"]["code"] == "validation_failed"
    assert "applicant.full_name" in reply.body["error"]["fields"]
    http = requests.post(f"{system.url('intake')}/api/v1/applications", json=body, timeout=10,
                         headers={"Accept-Language": "en"})
    assert http.status_code == 400 and http.json() == reply.body  # the same answer as HTTP
    assert stored(mongo, body["applicant"]["nik"]) == 0


def test_a_request_for_another_channel_is_refused(web, mongo):
    body = {**valid_body(), "channel": "whatsapp"}
    reply = web.submit(body)
    assert reply.status == 400 and set(reply.body["error"]["fields"]) == {"channel"}
    assert stored(mongo, body["applicant"]["nik"]) == 0
    # named with the body's other errors, not only once they are mended (outside review)
    body = {**valid_body(), "channel": "app", "applicant": {}}
    reply = web.submit(body)
    assert reply.status == 400 and {"channel", "applicant.nik"} <= set(reply.body["error"]["fields"])


def test_the_same_request_id_twice_gives_one_application(web, mongo):
    body, request_id = valid_body(), str(uuid.uuid4())
    first = web.submit(body, request_id=request_id)
    again = web.submit(body, request_id=request_id)
    assert first.status == again.status == 202, (first.body, again.body)
    assert again.body == first.body
    assert stored(mongo, body["applicant"]["nik"]) == 1


def test_a_request_id_used_for_another_citizen_is_named_as_the_channel_sent_it(web, mongo):
    # the 409 named HTTP's header, Idempotency-Key, which a channel never sends
    request_id, other = str(uuid.uuid4()), valid_body()
    assert web.submit(valid_body(), request_id=request_id).status == 202
    reused = web.submit(other, request_id=request_id)
    assert reused.status == 409, reused.body
    assert reused.body["error"]["code"] == "idempotency_key_reused"
    assert set(reused.body["error"]["fields"]) == {"request_id"}
    assert "request_id" in reused.body["error"]["message"]
    assert stored(mongo, other["applicant"]["nik"]) == 0


def test_a_request_id_reused_for_another_document_of_the_citizen_is_refused(web, mongo):
    """Outside audit T4: a KIA sent with a KTP-el's request id (the same
    applicant) was answered 202 with the KTP-el's tracking code, and never
    stored."""
    body, request_id = valid_body(), str(uuid.uuid4())
    assert web.submit(body, request_id=request_id).status == 202
    other = {**body, "details": {**body["details"], "reason": "data_change"}}
    reused = web.submit(other, request_id=request_id)
    assert reused.status == 409, reused.body
    assert reused.body["error"]["code"] == "idempotency_key_reused"
    assert set(reused.body["error"]["fields"]) == {"request_id"}
    assert stored(mongo, body["applicant"]["nik"]) == 1


def test_a_reply_that_comes_again_after_its_wait_is_not_kept(web):
    """Replies come at least once (intake redoes a request whose ack a crash
    lost); the client kept one that came after its ``wait`` for ever, and
    would hand it to a later ``submit`` of the id (outside audit T4)."""
    body, request_id = valid_body(), str(uuid.uuid4())
    assert web.submit(body, request_id=request_id).status == 202
    # the same request once more on the client's own AMQP channel, as a
    # redelivery would: its answer comes to the client's direct reply-to
    web.channel.basic_publish("intake.channel.web", "", json.dumps(body).encode(),
                              pika.BasicProperties(content_type="application/json",
                                                   message_id=request_id,
                                                   correlation_id=request_id,
                                                   reply_to=DIRECT_REPLY_TO))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and request_id not in web.replies:
        web.connection.process_data_events(time_limit=0.5)
    assert request_id not in web.replies


def test_a_request_whose_wait_gave_up_is_forgotten_and_its_late_answer_not_kept(web):
    """A channel review: a request whose ``wait`` timed out kept its body,
    and its reply once it came, for ever (an integrator who gave up, or
    retried from another worker: memory without bound), and a late answer
    was handed to the next publish of the id in place of its own."""
    body, request_id = valid_body(), str(uuid.uuid4())
    web.publish(body, request_id)
    with pytest.raises(ReplyTimeout):
        web.wait(request_id, timeout=0.001)
    assert request_id not in web.pending
    deadline = time.monotonic() + 5  # the answer comes meanwhile: not kept
    while time.monotonic() < deadline:
        web.connection.process_data_events(time_limit=0.5)
    assert request_id not in web.replies and web.pending == {}
    web.replies[request_id] = "a late answer kept from before"  # as if one had been
    assert web.submit(body, request_id, timeout=60).status == 202  # its own answer


def test_an_http_idempotency_key_cannot_take_a_channel_s_request_id(system, web, mongo):
    """Ids are per channel: HTTP's ``Idempotency-Key: web:<id>`` was the web
    channel's request id ``<id>`` - a caller who guessed it and knew the NIK
    got that application's tracking code back (outside audit)."""
    body, request_id = valid_body(), f"web-row-{uuid.uuid4().hex[:8]}"
    first = web.submit(body, request_id=request_id)
    assert first.status == 202, first.body
    guessed = requests.post(f"{system.url('intake')}/api/v1/applications", json=body,
                            headers={"Idempotency-Key": f"web:{request_id}"}, timeout=10)
    assert guessed.status_code == 409, guessed.text  # a second application for the NIK
    assert guessed.json()["error"]["code"] == "conflict"
    assert first.body["tracking_code"] not in guessed.text
    assert stored(mongo, body["applicant"]["nik"]) == 1


def test_a_channel_s_request_id_is_not_taken_by_an_http_idempotency_key(system, web, mongo):
    """The other way round: an HTTP key ``web:<id>`` used first left the web
    channel's request ``<id>`` a 409 ``idempotency_key_reused``."""
    request_id, citizen, other = f"web-row-{uuid.uuid4().hex[:8]}", valid_body(), valid_body()
    over_http = requests.post(f"{system.url('intake')}/api/v1/applications", json=citizen,
                              headers={"Idempotency-Key": f"web:{request_id}"}, timeout=10)
    assert over_http.status_code == 202, over_http.text
    reply = web.submit(other, request_id=request_id)
    assert reply.status == 202, reply.body
    assert reply.body["tracking_code"] != over_http.json()["tracking_code"]
    # and each key still answers its own retries as before
    again = requests.post(f"{system.url('intake')}/api/v1/applications", json=citizen,
                          headers={"Idempotency-Key": f"web:{request_id}"}, timeout=10)
    assert again.status_code == 202 and again.json() == over_http.json()
    assert web.submit(other, request_id=request_id).body == reply.body
    assert [stored(mongo, b["applicant"]["nik"]) for b in (citizen, other)] == [1, 1]


def test_clients_of_one_channel_each_get_their_own_replies(channel_users):
    """Two clients of the web channel, one per thread, ten requests each:
    each gets its own ten replies. Every client consumed the channel's one
    reply queue, so the broker handed each a share of the other's replies,
    which it kept where the other never looked: about four of ten submits
    timed out (outside audit)."""
    clients = [ChannelClient(channel_users["web"], "web") for _ in range(2)]
    outcomes = {}

    def submit_ten(n: int) -> None:
        statuses = []
        for _ in range(10):
            try:
                statuses.append(clients[n].submit(valid_body(), timeout=30).status)
            except ReplyTimeout:
                statuses.append("no reply")
        outcomes[n] = (statuses, clients[n].replies)
    threads = [threading.Thread(target=submit_ten, args=(n,)) for n in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for client in clients:
            client.close()
    assert outcomes == {n: ([202] * 10, {}) for n in range(2)}


def answers_on_the_reply_queue(url: str, properties: dict[str, pika.BasicProperties]) -> dict:
    """Publish ``{}`` as the web channel with each of ``properties`` (by its
    correlation id) and read the answers off the channel's durable reply queue."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for props in properties.values():
            channel.basic_publish("intake.channel.web", "", b"{}", props)
        answers = {}
        for method, props, body in channel.consume("intake.channel.web.replies",
                                                   inactivity_timeout=60):
            if method is None:
                break
            channel.basic_ack(method.delivery_tag)
            if props.correlation_id in properties:
                answers[props.correlation_id] = json.loads(body)["status"]
            if answers.keys() == properties.keys():
                break
        return answers
    finally:
        connection.close()


def test_a_request_without_a_reply_to_of_its_own_is_answered_on_the_channel_s_reply_queue(
        channel_users):
    """For an integrator that consumes the durable reply queue itself; a
    ``reply_to`` naming any other queue (another channel's replies, the
    request queue) is not followed."""
    properties = {}
    for reply_to in (None, "intake.channel.web.replies", "intake.channel.app.replies",
                     "intake.channel.requests"):
        request_id = str(uuid.uuid4())
        properties[request_id] = pika.BasicProperties(
            content_type="application/json", message_id=request_id, correlation_id=request_id,
            reply_to=reply_to)
    assert answers_on_the_reply_queue(channel_users["web"], properties) == \
        {request_id: 400 for request_id in properties}


def close_connections_of(url: str) -> int:
    """Close, as an operator would, the broker connections of ``url``'s user
    on its virtual host (the test's own); how many there were."""
    user, vhost = urlsplit(url).username, vhost_of(url)
    listed = subprocess.run(["rabbitmqctl", "-q", "list_connections", "--no-table-headers",
                             "pid", "user", "vhost"], capture_output=True, text=True,
                            check=True).stdout
    pids = [pid for pid, *owner in (line.split("\t") for line in listed.splitlines())
            if owner == [user, vhost]]
    for pid in pids:
        subprocess.run(["rabbitmqctl", "close_connection", pid, "closed by the test"],
                       capture_output=True, check=True)
    return len(pids)


def test_a_client_whose_connection_was_closed_reconnects_and_gets_its_replies(
        channel_users, mongo):
    """The client raised pika's ConnectionClosedByBroker, then ``ValueError:
    Timeout closed before call`` on every later call (outside audit). Now a
    request whose reply went with the old connection is sent again on a new
    one, and answered the same."""
    url = channel_users["web"]
    client = ChannelClient(url, "web")
    try:
        bodies = [valid_body() for _ in range(5)]
        ids = [client.publish(body) for body in bodies]
        assert close_connections_of(url) >= 1  # its own, and any an earlier test left closing
        assert [client.wait(request_id, timeout=60).status for request_id in ids] == [202] * 5
        assert client.submit(valid_body(), timeout=60).status == 202
        assert client.pending == {} and client.replies == {}
    finally:
        client.close()
    assert [stored(mongo, body["applicant"]["nik"]) for body in bodies] == [1] * 5


def test_a_client_without_its_broker_says_so_and_goes_on_once_it_is_back(channel_users):
    broker = TcpProxy(("127.0.0.1", 5672))
    url = channel_users["web"].replace("127.0.0.1:5672", f"127.0.0.1:{broker.port}")
    client = ChannelClient(url, "web")
    try:
        assert client.submit(valid_body(), timeout=60).status == 202
        broker.cut()
        with pytest.raises(ChannelUnavailable):
            client.wait(str(uuid.uuid4()), timeout=60)
        body = valid_body()
        with pytest.raises(ChannelUnavailable) as unavailable:
            client.publish(body)  # no id given: the one it made is on the exception
        request_id = unavailable.value.request_id
        assert request_id and client.pending == {}
        broker.restore()
        assert client.submit(body, request_id, timeout=60).status == 202
    finally:
        client.close()
        broker.close()


def test_a_client_refused_by_the_broker_is_told_so_not_that_the_broker_is_away(
        channel_users):
    client = ChannelClient(channel_users["web"], "app")  # the web user on the app's exchange
    try:
        with pytest.raises(ChannelClosedByBroker) as refusal:
            client.publish(valid_body())
        assert refusal.value.reply_text.startswith("ACCESS_REFUSED")
    finally:
        client.close()


def test_a_request_that_reaches_no_queue_is_not_taken_for_sent(system, channel_users, mongo,
                                                              caplog):
    """Published without ``mandatory``, a request the broker routed nowhere
    (its exchange unbound from the request queue: a deploy step missing) was
    confirmed and lost; the client's retries went the same way (outside
    audit). Now ``publish`` raises, and the same id goes through once the
    binding is back."""
    operator = pika.BlockingConnection(pika.URLParameters(
        system.amqp_uri.replace("pyamqp://", "amqp://")))
    client = ChannelClient(channel_users["app"], "app")
    body, request_id = {**valid_body(), "channel": "app"}, str(uuid.uuid4())
    try:
        operator.channel().queue_unbind("intake.channel.requests", "intake.channel.app", "")
        try:
            with pytest.raises(RequestNotQueued):
                client.publish(body, request_id)
        finally:
            operator.channel().queue_bind("intake.channel.requests", "intake.channel.app", "")
        assert client.pending == {}
        # pika's warning of the returned request names it, without its body
        # (an application: NIK, name, phone - a channel review)
        assert "Published message was returned" in caplog.text
        assert body["applicant"]["nik"] not in caplog.text
        assert body["applicant"]["phone"] not in caplog.text
        assert client.submit(body, request_id, timeout=60).status == 202
    finally:
        client.close()
        operator.close()
    assert stored(mongo, body["applicant"]["nik"]) == 1


def published_raw(client: ChannelClient, body: bytes, headers: dict | None = None) -> str:
    """A request published as is (past the client's checks) on the web
    channel, answered to the client's direct reply-to; its request id."""
    request_id = str(uuid.uuid4())
    client.channel.basic_publish("intake.channel.web", "", body,
                                 pika.BasicProperties(content_type="application/json",
                                                      message_id=request_id,
                                                      correlation_id=request_id,
                                                      reply_to=DIRECT_REPLY_TO, headers=headers))
    return request_id


@pytest.mark.parametrize("headers", [
    {"accept-language": "fr, en;q=0.8"}, {"accept-language": "id;q=0.1, en"},
    {"accept-language": "en-US,en;q=0.9"}, {"Accept-Language": "en"},
    {"accept-language": "en;q=0.5, id"}, {"accept-language": b"en"}, {}])
def test_a_request_is_answered_in_the_language_http_would_answer_it(system, web, headers):
    """The channel read ``accept-language`` as "starts with en" (and only in
    lower case), HTTP as a weighted list: the same value got English over
    HTTP and Bahasa Indonesia on the channel (outside audit); one pika sends
    as an AMQP byte string (a Python ``bytes``) was read as "b'en'" (outside
    audit S3)."""
    reply = web.wait(published_raw(web, b"{}", headers), timeout=60)
    http = requests.post(f"{system.url('intake')}/api/v1/applications", data=b"{}", timeout=30,
                         headers={"Content-Type": "application/json", **headers})
    assert (reply.status, reply.body) == (http.status_code, http.json())


def refused(url: str, act) -> str:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        with pytest.raises(ChannelClosedByBroker) as closed:
            act(channel)
        return closed.value.reply_text
    finally:
        if connection.is_open:
            connection.close()


def test_a_channel_user_is_kept_to_its_own_exchange_and_replies(channel_users):
    url, body = channel_users["web"], b"{}"
    assert refused(url, lambda ch: ch.basic_publish("intake.channel.app", "", body)) \
        .startswith("ACCESS_REFUSED")
    assert refused(url, lambda ch: ch.basic_publish("", "intake.channel.requests", body)) \
        .startswith("ACCESS_REFUSED")
    assert refused(url, lambda ch: ch.basic_consume("intake.channel.app.replies",
                                                    lambda *a: None)).startswith("ACCESS_REFUSED")
    assert refused(url, lambda ch: ch.queue_declare("mine")).startswith("ACCESS_REFUSED")


def test_a_channel_user_changes_nothing_and_a_passive_declare_only_tells_what_exists(
        channel_users):
    """What docs/channel-api.md says a channel user can do beyond its own
    exchange and replies - it said "declaring anything gets ACCESS_REFUSED",
    but RabbitMQ checks no permission on a passive declare (outside audit)."""
    url = channel_users["web"]
    for act in (lambda ch: ch.queue_declare("intake.channel.app.replies", durable=True,
                                            arguments={"x-queue-type": "quorum"}),
                lambda ch: ch.exchange_declare("mine", "fanout"),
                lambda ch: ch.queue_bind("intake.channel.web.replies", "intake.channel.web"),
                lambda ch: ch.queue_purge("intake.channel.app.replies"),
                lambda ch: ch.queue_delete("intake.channel.app.replies"),
                lambda ch: ch.exchange_delete("intake.channel.web")):
        assert refused(url, act).startswith("ACCESS_REFUSED")
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        for queue in ("intake.channel.app.replies", "intake.channel.requests"):
            told = channel.queue_declare(queue, passive=True).method
            assert told.queue == queue and told.message_count >= 0 and told.consumer_count >= 0
        channel.exchange_declare("intake.events", passive=True)
    finally:
        connection.close()
    assert refused(url, lambda ch: ch.queue_declare("no-such-queue", passive=True)) \
        .startswith("NOT_FOUND")


def test_a_burst_is_absorbed_and_every_request_answered(web, mongo):
    bodies = [valid_body() for _ in range(150)]
    ids = [web.publish(body) for body in bodies]  # each confirmed by the broker
    replies = [web.wait(request_id, timeout=120) for request_id in ids]
    assert [reply.status for reply in replies] == [202] * len(bodies)
    assert len({reply.body["tracking_code"] for reply in replies}) == len(bodies)
    niks = [body["applicant"]["nik"] for body in bodies]
    assert mongo["intake"].applications.count_documents({"applicant.nik": {"$in": niks}}) \
        == len(bodies)


def test_a_body_that_is_not_json_gets_a_400_and_the_channel_goes_on(channel_users, web):
    reply = web.wait(published_raw(web, b"{not json"), timeout=60)
    assert reply.status == 400 and set(reply.body["error"]["fields"]) == {"_body"}
    assert web.submit(valid_body()).status == 202



@pytest.mark.parametrize("headers", [{"call_id_stack": 5}, {"nameko.call_id_stack": [1]},
                                     {"call_id_stack": [None], "nameko.language": 7}])
def test_a_request_with_headers_nameko_would_take_as_its_own_is_answered(web, headers):
    """A review (forty-fifth session): a request's headers were the
    worker's nameko context - ``call_id_stack: 5`` failed the worker outside
    its error handling, stopped intake, and the request (never acked)
    stopped every start after."""
    reply = web.wait(published_raw(web, b"{}", headers), timeout=60)
    assert reply.status == 400, reply.body
    assert web.submit(valid_body()).status == 202

# a direct reply-to of the right form naming no node of this broker
# (outside audit S3): publishing to it ends the publisher's connection with
# 541 INTERNAL_ERROR
FORGED_REPLY_TO = "amq.rabbitmq.reply-to.g1h2AA5yZXBseUAyODMzMzkxNwAAC7MAAAAAWg==.AAAA"


def requests_queued(vhost: str) -> int:
    """Messages in intake's request queue, ready or being handled."""
    listed = subprocess.run(["rabbitmqctl", "list_queues", "-p", vhost, "--no-table-headers",
                             "-q", "name", "messages"], capture_output=True, text=True,
                            check=True).stdout
    return sum(int(count) for name, count in (line.split() for line in listed.splitlines())
               if name == "intake.channel.requests")


def seconds(count: int):
    """One step a second, ``count`` times."""
    for _ in range(count):
        time.sleep(1)
        yield


def test_a_reply_the_broker_refuses_is_dropped_not_retried_for_ever(system, web, mongo):
    """Outside audit S3 (HIGH): any channel's credentials could publish a
    request whose reply the broker refuses; requeued on each failure, it came
    back ~3 times a second for ever, never answered, the broker logging a
    crash report each time (500 MB in 8 minutes). Now the reply is dropped
    as to a client gone: the request is done, and the same request id gets
    the answer."""
    vhost, body, request_id = vhost_of(system.amqp_uri), valid_body(), str(uuid.uuid4())
    web.channel.basic_publish("intake.channel.web", "", json.dumps(body).encode(),
                              pika.BasicProperties(content_type="application/json",
                                                   message_id=request_id,
                                                   correlation_id=request_id,
                                                   reply_to=FORGED_REPLY_TO))
    try:
        eventually(lambda: stored(mongo, body["applicant"]["nik"]) == 1, what="stored")
        # a quorum queue's counts lag by up to a tick (5 s): off the queue,
        # and still off it two ticks later (the old code's request was back)
        eventually(lambda: requests_queued(vhost) == 0, what="the request off the queue")
        assert all(requests_queued(vhost) == 0 for _ in seconds(12)), "the request came back"
    finally:  # the old code's loop must not go on through the rest of the suite
        subprocess.run(["rabbitmqctl", "purge_queue", "-p", vhost, "intake.channel.requests"],
                       capture_output=True)
    again = web.submit(body, request_id=request_id)
    assert again.status == 202 and stored(mongo, body["applicant"]["nik"]) == 1


def test_a_request_without_a_message_id_is_answered_on_its_correlation_id(web):
    """The 400 on ``request_id`` reaches the client: the reply carries the
    request's correlation_id (it had None, and the client never saw it)."""
    correlation_id = str(uuid.uuid4())
    web.channel.basic_publish("intake.channel.web", "", json.dumps(valid_body()).encode(),
                              pika.BasicProperties(content_type="application/json",
                                                   correlation_id=correlation_id,
                                                   reply_to=DIRECT_REPLY_TO))
    reply = web.wait(correlation_id, timeout=30)
    assert reply.status == 400 and set(reply.body["error"]["fields"]) == {"request_id"}
    assert reply.request_id is None


def test_an_oversized_request_gets_what_http_answers_413_and_stores_nothing(
        system, web, mongo):
    body = {**valid_body(), "notes": "x" * 2_000_000}  # an unknown field: parsed, a 400
    reply = web.submit(body, timeout=60)
    assert reply.status == 413, reply.body
    assert reply.body["error"]["code"] == "payload_too_large"
    http = requests.post(f"{system.url('intake')}/api/v1/applications", json=body, timeout=30,
                         headers={"Accept-Language": "en"})
    assert http.status_code == 413 and http.json() == reply.body  # the same answer as HTTP
    assert stored(mongo, body["applicant"]["nik"]) == 0
    assert web.submit(valid_body()).status == 202  # and the channel goes on


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/json; charset=utf-16",
                                          "Application/JSON; Charset=\"ISO-8859-1\""])
def test_a_request_not_sent_as_json_gets_what_http_answers_415(system, web, mongo, content_type):
    """A charset other than UTF-8 too (the body in UTF-8): the channel dropped
    the content type's parameters and stored it, HTTP answered 415 (outside
    audit S3)."""
    body = valid_body()
    request_id = str(uuid.uuid4())
    web.channel.basic_publish("intake.channel.web", "", json.dumps(body).encode(),
                              pika.BasicProperties(content_type=content_type,
                                                   message_id=request_id,
                                                   correlation_id=request_id,
                                                   reply_to=DIRECT_REPLY_TO))
    reply = web.wait(request_id, timeout=60)
    assert reply.status == 415, reply.body
    http = requests.post(f"{system.url('intake')}/api/v1/applications", data=json.dumps(body),
                         headers={"Content-Type": content_type or ""}, timeout=30)
    assert http.status_code == 415 and http.json() == reply.body  # the same answer as HTTP
    assert set(reply.body["error"]["fields"]) == {"Content-Type"}
    assert stored(mongo, body["applicant"]["nik"]) == 0
    # and the channel goes on
    assert web.submit(valid_body()).status == 202


def test_a_nik_probed_over_http_gets_no_more_register_answers_on_the_channel(system, web,
                                                                            mongo):
    """The register-refusal counts are the process's: a NIK refused 10 times
    over HTTP (docs/api.md "Failed attempts") is not checked against the
    register on the broker channel either (accepted, flagged
    register_withheld); the channel itself is one client for all its
    citizens, so only NIKs and KKs are counted there."""
    _, (probed,) = seed_people(system, 1)
    for _ in range(10):
        assert_not_on_kk(first_card(new_client(), system.url("intake"), probed,
                                    seed_people(system, 1)[0]))
    body = {**valid_body()}
    body["applicant"] = {**body["applicant"], "nik": probed, "kk_number": seed_people(system, 1)[0]}
    reply = web.submit(body)
    assert reply.status == 202, reply.body
    assert mongo["intake"].applications.find_one({"applicant.nik": probed})["flags"] == [
        "register_withheld"]


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_compressed_request_gets_what_http_answers_415(system, web, mongo, encoding):
    """A body labelled compressed is refused naming Content-Encoding, as over
    HTTP (it was read as plain JSON: a gzip one answered 400, a plain one
    labelled gzip was stored); the charset kombu puts there is no coding."""
    body = valid_body()
    request_id = str(uuid.uuid4())
    web.channel.basic_publish("intake.channel.web", "", json.dumps(body).encode(),
                              pika.BasicProperties(content_type="application/json",
                                                   content_encoding=encoding,
                                                   message_id=request_id,
                                                   correlation_id=request_id,
                                                   reply_to=DIRECT_REPLY_TO))
    reply = web.wait(request_id, timeout=60)
    assert reply.status == 415, reply.body
    http = requests.post(f"{system.url('intake')}/api/v1/applications", data=json.dumps(body),
                         headers={"Content-Type": "application/json",
                                  "Content-Encoding": encoding}, timeout=30)
    assert http.status_code == 415 and http.json() == reply.body  # the same answer as HTTP
    assert set(reply.body["error"]["fields"]) == {"Content-Encoding"}
    assert stored(mongo, body["applicant"]["nik"]) == 0
    charset = valid_body()
    request_id = str(uuid.uuid4())
    web.channel.basic_publish("intake.channel.web", "", json.dumps(charset).encode(),
                              pika.BasicProperties(content_type="application/json",
                                                   content_encoding="utf-8",
                                                   message_id=request_id,
                                                   correlation_id=request_id,
                                                   reply_to=DIRECT_REPLY_TO))
    assert web.wait(request_id, timeout=60).status == 202


def test_a_channel_request_names_the_office_to_collect_at(web, mongo):
    """The broker channel takes the submission's schema: ``delivery.place_id``
    is stored as the application's ``pickup_place_id`` (outside audit T1);
    an unknown place is refused on it and stores nothing."""
    body = {**valid_body(), "delivery": {"method": "pickup", "place_id": "kec-curug"}}
    reply = web.submit(body)
    assert reply.status == 202, reply.body
    stored_one = mongo["intake"].applications.find_one(
        {"tracking_code": reply.body["tracking_code"]})
    assert stored_one["pickup_place_id"] == "kec-curug"
    unknown = {**valid_body(), "delivery": {"method": "pickup", "place_id": "kec-bogor"}}
    reply = web.submit(unknown)
    assert reply.status == 400
    assert list(reply.body["error"]["fields"]) == ["delivery.place_id"]
    assert stored(mongo, unknown["applicant"]["nik"]) == 0
