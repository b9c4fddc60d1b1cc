"""The channel client with no broker: it refuses a language intake does not
answer in (audit B: ``lang="fr"`` was taken silently, and meant Bahasa
Indonesia) before any connection; it tells a broker's refusal from a broker
unavailable for now by the broker's own words; pika's warning of a returned
request withholds its body; a blocked connection is given up."""

from __future__ import annotations

import json
import logging

import pika
import pytest
from pika.exceptions import (AuthenticationError, ConnectionClosedByBroker,
                             ProbableAccessDeniedError, ProbableAuthenticationError,
                             StreamLostError)

from clients.channel import ChannelClient, ChannelUnavailable
from clients.channel.client import BLOCKED_CONNECTION_SECONDS, HEARTBEAT_SECONDS, refusal


@pytest.mark.parametrize("lang", ["fr", "EN", "", "id-ID"])
def test_a_language_intake_does_not_answer_in_is_refused(lang):
    with pytest.raises(ValueError, match="lang must be one of id, en"):
        ChannelClient("amqp://guest:guest@127.0.0.1:1/", "web", lang=lang)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_bahasa_and_english_are_taken(lang):
    # past the check: the client goes on to connect (to nothing here)
    with pytest.raises(ChannelUnavailable):
        ChannelClient("amqp://guest:guest@127.0.0.1:1/", "web", lang=lang)


def test_a_blocked_connection_is_given_up_after_a_minute_unless_the_url_says(monkeypatch):
    """A broker in a memory or disk alarm blocks publishers: a publish waiting
    for its confirm waited for ever (a channel review)."""
    monkeypatch.setattr(ChannelClient, "_connect", lambda self: None)
    assert ChannelClient("amqp://u:p@broker/", "web").parameters.blocked_connection_timeout \
        == BLOCKED_CONNECTION_SECONDS
    assert ChannelClient("amqp://u:p@broker/?blocked_connection_timeout=5", "web") \
        .parameters.blocked_connection_timeout == 5


def test_a_short_heartbeat_is_asked_for_unless_the_url_says(monkeypatch):
    """With the broker's 60 s, a connection the network silently stopped
    carrying was noticed after ~2 minutes: a publish waited ~140 s (outside
    review)."""
    monkeypatch.setattr(ChannelClient, "_connect", lambda self: None)
    assert ChannelClient("amqp://u:p@broker/", "web").parameters.heartbeat == HEARTBEAT_SECONDS
    assert ChannelClient("amqp://u:p@broker/?heartbeat=30", "web").parameters.heartbeat == 30
    assert ChannelClient("amqp://u:p@broker/?heartbeat=0", "web").parameters.heartbeat == 0


@pytest.mark.parametrize(("error", "cause"), [
    (ProbableAuthenticationError(repr(ConnectionClosedByBroker(
        403, "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN"))),
     "credentials"),
    (AuthenticationError("PLAIN"), "credentials"),
    (ProbableAccessDeniedError(repr(ConnectionClosedByBroker(
        530, "NOT_ALLOWED - vhost smartdukcapil not found"))), "virtual_host"),
    (ProbableAccessDeniedError(repr(ConnectionClosedByBroker(
        530, "NOT_ALLOWED - access to vhost 'smartdukcapil' refused for user 'web'"))),
     "virtual_host"),
    # not refusals: the broker is unavailable for now (pika guessed "access denied")
    (ProbableAccessDeniedError(repr(ConnectionClosedByBroker(
        530, "NOT_ALLOWED - user connection limit (1) is reached"))), None),
    (ProbableAuthenticationError(repr(StreamLostError("Transport indicated EOF"))), None),
])
def test_a_handshake_that_ended_is_a_refusal_only_when_the_broker_says_so(error, cause):
    assert refusal(error) == cause


def test_pikas_warning_of_a_returned_request_withholds_its_body(caplog):
    """A request routed to no queue comes back; pika logs it with the first
    255 bytes of its body - an application's NIK, name, phone."""
    body = b'{"applicant": {"nik": "3673045207900001", "phone": "081234567890"}}'
    with caplog.at_level(logging.WARNING):
        logging.getLogger("pika.adapters.blocking_connection").warning(
            "Published message was returned: _delivery_confirmation=%s; "
            "channel=%s; method=%r; properties=%r; body_size=%d; "
            "body_prefix=%.255r", True, 1, "Basic.Return", "props", len(body), body)
    assert "3673045207900001" not in caplog.text and "081234567890" not in caplog.text
    assert "body_size=%d" % len(body) in caplog.text and "withheld" in caplog.text


def test_an_empty_request_id_is_refused_not_taken_for_a_new_one_each_time(monkeypatch):
    monkeypatch.setattr(ChannelClient, "_connect", lambda self: None)
    client = ChannelClient("amqp://u:p@broker/", "web")
    with pytest.raises(ValueError, match="request_id"):
        client.publish({"document_type": "ktp_el"}, "")
    assert client.pending == {}


def test_of_two_answers_to_one_request_the_first_is_kept(monkeypatch):
    monkeypatch.setattr(ChannelClient, "_connect", lambda self: None)
    client = ChannelClient("amqp://u:p@broker/", "web")
    client.awaited.add("r-1")
    for status in (202, 409):
        client._on_reply(None, None, pika.BasicProperties(correlation_id="r-1"),
                         json.dumps({"request_id": "r-1", "status": status, "body": {}}))
    assert client.replies["r-1"].status == 202
