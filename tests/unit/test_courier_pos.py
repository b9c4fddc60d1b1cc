"""Courier's Pos client, what it makes of Pos' answers to a posting: a
"not now" 4xx is retried as a 5xx is, a 409 (Pos holds the order) is no
refusal. Pos faked at the session, no I/O."""

from __future__ import annotations

import pytest

from services.courier.exceptions import PosRefused, PosUnavailable
from services.courier.pos import PosClient


class Answer:
    """The little of a ``requests.Response`` the client reads."""

    def __init__(self, status: int, body=None):
        self.status_code, self._body = status, body
        self.headers = {"Content-Type": "application/json"} if body is not None else {}

    def json(self):
        if self._body is None:
            raise ValueError("no JSON")
        return self._body


class FakePos:
    """A session to Pos: a token for the asking, then ``answer`` to the posting."""

    def __init__(self, answer: Answer):
        self.answer, self.postings = answer, 0

    def request(self, method: str, url: str, timeout: float, **kwargs) -> Answer:
        if url.endswith("/oauth2/token"):
            return Answer(200, {"access_token": "token", "expires_in": 3600})
        self.postings += 1
        return self.answer


def posted(answer: Answer) -> str:
    return PosClient(FakePos(answer), "http://pos.test", "id", "secret", 5).add_posting(
        {"orderId": "SDK-job-1"})


@pytest.mark.parametrize("status", [408, 425, 429, 500, 503])
def test_a_posting_answered_not_now_is_tried_again_not_refused(status):
    """A courier review: 408 Request Timeout and 425 Too Early were refusals
    - dead-lettered at once, the posting no longer in doubt."""
    with pytest.raises(PosUnavailable):
        posted(Answer(status, {"error": "try later"}))


def test_a_posting_pos_holds_already_is_posted_or_in_doubt_never_refused():
    """409 Conflict on AddPostingDoc: Pos holds an order of this id (its
    answer to the first try lost). With the barcode it is posted; without
    it, in doubt - tried again as an outage is, never dead-lettered."""
    assert posted(Answer(409, {"orderId": "SDK-job-1", "barcode": "P2611290007"})) == \
        "P2611290007"
    for body in ({"error": "Conflict"}, None, ["duplicate"], {"barcode": ""},
                 {"barcode": 7}):
        with pytest.raises(PosUnavailable):
            posted(Answer(409, body))


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_a_posting_pos_refuses_names_its_fields_only(status):
    with pytest.raises(PosRefused) as refused:
        posted(Answer(status, {"errors": {"receiver.zipCode": "must be 5 digits"}}))
    assert str(refused.value) == f"AddPostingDoc {status}: receiver.zipCode"
    with pytest.raises(PosRefused):
        posted(Answer(status, ["not an object"]))


@pytest.mark.parametrize("status", [429, 503])
def test_a_posting_answered_not_now_carries_how_long_pos_asked_to_wait(status):
    """Pos' Retry-After, capped at courier's longest retry delay; none or
    unreadable: None (the schedule alone)."""
    def asked(headers: dict):
        answer = Answer(status, {"error": "try later"})
        answer.headers.update(headers)
        client = PosClient(FakePos(answer), "http://pos.test", "id", "secret", 5, wait_cap=600)
        with pytest.raises(PosUnavailable) as unavailable:
            client.add_posting({"orderId": "SDK-job-1"})
        return unavailable.value.retry_after
    assert asked({"Retry-After": "60"}) == 60
    assert asked({"Retry-After": "86400"}) == 600
    assert asked({"Retry-After": "later"}) is None
    assert asked({}) is None
