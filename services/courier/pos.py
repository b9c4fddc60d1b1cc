"""Pos Indonesia's partner API behind one DependencyProvider.

``PosApi`` reads the config in ``setup()`` and hands workers a ``PosClient``
with two domain methods, ``add_posting`` and ``tracking``. One
``requests.Session``, a timeout on every call. The OAuth2 client-credentials
token is shared by the workers and cached until ``TOKEN_MARGIN_SECONDS``
before it expires; a 401 fetches a new one and tries once more.

Failures become domain errors that do not carry the payload: ``PosUnavailable``
(unreachable, timeout, 5xx, 408, 425, 429, and a 409 without the barcode of
the order Pos holds: the handler raises and the shared delayed retry brings
the event back - no sooner than Pos' ``Retry-After`` asked, at most courier's
longest retry delay) or ``PosRefused`` (the posting itself is wrong:
dead-lettered for an operator).
"""

from __future__ import annotations

import logging
import re
import threading
import time

import requests
from nameko.extensions import DependencyProvider

from shared.messaging import DEFAULT_RETRY_DELAYS, retry_delays
from shared.partners import partner_session, retry_after_seconds
from shared.settings import InvalidSetting, require, seconds

from .domain import readable
from .exceptions import PosRefused, PosUnavailable
from .posting import Sender

log = logging.getLogger(__name__)

TOKEN_MARGIN_SECONDS = 60
# 4xx answers that say "not now", not "never": Request Timeout, Too Early,
# Too Many Requests - retried as a 5xx is (a review: 408 and 425 dead-lettered
# the posting at once)
TRY_AGAIN = (408, 425, 429)


class PosClient:
    def __init__(self, session: requests.Session, base_url: str, client_id: str,
                 client_secret: str, timeout: float, sender: Sender | None = None,
                 clock=time.monotonic, wait_cap: float = max(DEFAULT_RETRY_DELAYS)):
        self.sender = sender  # the Dinas
        self.session, self.base_url, self.timeout = session, base_url.rstrip("/"), timeout
        self.wait_cap = wait_cap  # the longest Retry-After of Pos' taken at its word
        self._credentials = (client_id, client_secret)
        self._clock = clock
        self._lock = threading.Lock()  # green under eventlet: one token fetch at a time
        self._token: str | None = None
        self._expires = 0.0

    def token(self, refresh: bool = False) -> str:
        with self._lock:
            if refresh or self._token is None or self._clock() >= self._expires:
                grant = self._call("POST", "/oauth2/token", auth=self._credentials,
                                   data={"grant_type": "client_credentials"})
                if grant.status_code != 200:
                    raise PosUnavailable(f"token refused: {grant.status_code}")
                body = grant.json()
                lifetime = float(body.get("expires_in", 0))
                self._token = body["access_token"]
                # not up to the last second: a request in flight must not carry an expired token
                self._expires = self._clock() + max(0.0, lifetime - min(TOKEN_MARGIN_SECONDS,
                                                                        lifetime / 10))
            return self._token

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            response = self.session.request(method, self.base_url + path, timeout=self.timeout,
                                            **kwargs)
        except requests.RequestException as exc:
            raise PosUnavailable(f"pos unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code in TRY_AGAIN:
            raise PosUnavailable(f"pos answered {response.status_code}", retry_after_seconds(
                response.headers.get("Retry-After"), self.wait_cap))
        return response

    def _authorized(self, method: str, path: str, **kwargs) -> requests.Response:
        """A call with the cached token; on 401 one more with a fresh token."""
        response = self._call(method, path, **kwargs,
                              headers={"Authorization": f"Bearer {self.token()}"})
        if response.status_code == 401:
            response = self._call(method, path, **kwargs,
                                  headers={"Authorization": f"Bearer {self.token(refresh=True)}"})
        if response.status_code == 401:
            raise PosUnavailable("pos refused a fresh token")  # credentials rotated: retry later
        return response

    def add_posting(self, doc: dict) -> str:
        """Post a shipment; the barcode (tracking number). Idempotent on
        ``orderId``: Pos answers a reused one with its barcode (200,
        ``"duplicate": true``). A 409 - Pos holds an order of this id - is
        no refusal: its barcode, if the answer carries one; else
        ``PosUnavailable``, the posting left in doubt and tried again (a
        review: it was dead-lettered as refused, and Pos' webhooks about
        the order it holds answered 404)."""
        response = self._authorized("POST", "/api/v1/AddPostingDoc", json=doc)
        body = answer_of(response)
        if response.status_code == 409:
            barcode = body.get("barcode")
            if isinstance(barcode, str) and barcode:
                return barcode
            raise PosUnavailable("AddPostingDoc 409: Pos holds the order, no barcode given")
        if response.status_code not in (200, 201):
            errors = body.get("errors")
            fields = sorted(errors) if isinstance(errors, dict) else []
            raise PosRefused(f"AddPostingDoc {response.status_code}: {', '.join(fields)}")
        return response.json()["barcode"]

    def tracking(self, barcode: str) -> list[dict] | None:
        """Pos' tracking events of a barcode, oldest first; None if Pos does not know it."""
        response = self._authorized("GET", f"/api/v1/tracking/{barcode}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise PosUnavailable(f"tracking answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise PosUnavailable("tracking answered no JSON") from None
        events, unreadable = readable(answer.get("events", []) if isinstance(answer, dict)
                                      else None)
        if unreadable:
            log.warning("Pos' tracking of %s: %d event(s) without a status, an ISO time in "
                        "UTC's range or a note and location of text left out", barcode,
                        unreadable)
        return events


def answer_of(response: requests.Response) -> dict:
    """A JSON object Pos answered with, or ``{}`` (none, or not an object)."""
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class PosApi(DependencyProvider):
    """Pos Indonesia: the client and the Dinas as sender (Pos' webhooks: ``webhooks``)."""

    required_settings = ("POS_API_URL", "POS_CLIENT_ID", "POS_CLIENT_SECRET")

    def setup(self):
        config = self.container.config
        url, client_id, client_secret = require(self)
        if not re.fullmatch(r"[0-9]{5}", str(config.get("POS_SENDER_ZIP", "42118")).strip()):
            raise InvalidSetting("POS_SENDER_ZIP", "expected a postal code of 5 digits")
        self.session = partner_session(config)  # no ambient proxy sees the credentials
        try:
            sender = Sender(name=config.get("POS_SENDER_NAME", "Disdukcapil Kota Serang"),
                            address=config.get("POS_SENDER_ADDRESS", "Jl. Jenderal Sudirman No. 5"),
                            city=config.get("POS_SENDER_CITY", "Kota Serang"),
                            zip_code=str(config.get("POS_SENDER_ZIP", "42118")),
                            phone=str(config.get("POS_SENDER_PHONE", "0254200000")))
        except ValueError:
            raise InvalidSetting("POS_SENDER_PHONE", "not a phone number in Indonesia") from None
        # Pos' Retry-After, however long, waits at most the longest retry delay
        self.client = PosClient(self.session, url, client_id, client_secret,
                                seconds(config, "POS_TIMEOUT_SECONDS", 10), sender,
                                wait_cap=max(retry_delays(config)))

    def stop(self):
        self.session.close()

    def kill(self):
        self.session.close()

    def get_dependency(self, worker_ctx):
        return self.client
