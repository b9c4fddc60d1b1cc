"""The broker channel's reply: one that keeps failing is retried with its
request (requeued) up to ``DELIVERY_LIMIT`` deliveries, then dropped - the
client asks again with the same request id - instead of the request coming
back for ever (outside audit S3). No broker: the reply's sender fails as
told; the e2e test publishes a reply-to the real broker refuses."""

from __future__ import annotations

import pytest

from services.intake.channel import ChannelRequest, IntakeChannel, redeliveries_of


class FailingReplies:
    attempts = 5  # DELIVERY_LIMIT

    def send(self, request, status, body):
        raise ConnectionResetError("reply not confirmed")


def request(redeliveries: int) -> ChannelRequest:
    return ChannelRequest("web", "req-1", "req-1", "intake.channel.web.replies", "id", b"{}",
                          1024, redeliveries=redeliveries)


def channel() -> IntakeChannel:
    service = IntakeChannel()
    service.replies = FailingReplies()
    return service


@pytest.mark.parametrize("redeliveries", [0, 1, 3])
def test_a_failed_reply_is_retried_with_its_request_before_the_limit(redeliveries):
    with pytest.raises(ConnectionResetError):  # requeued
        channel().reply(request(redeliveries), 202, {})


@pytest.mark.parametrize("redeliveries", [4, 9])
def test_on_the_last_delivery_a_failed_reply_is_dropped_and_the_request_done(
        redeliveries, caplog):
    channel().reply(request(redeliveries), 202, {})
    assert "reply to request req-1 on channel web failed on its delivery" in caplog.text


def test_the_delivery_count_is_read_from_the_quorum_queues_header():
    assert [redeliveries_of(headers) for headers in (
        {}, {"x-delivery-count": 3}, {"x-delivery-count": "3"}, {"x-delivery-count": True})] \
        == [0, 3, 0, 0]
