"""The WhatsApp Cloud API's webhook (docs/whatsapp-webhook.md): Meta's
verification handshake, the ``X-Hub-Signature-256`` check, the status
callbacks read out of a delivery, and what each does to the message it is
about. Plain Python, no nameko; the store is handed in.

The Cloud API answers ``POST /messages`` as soon as it took a message; only
its status callbacks tell whether the message reached the phone. One that
failed (the number is not on WhatsApp, the template was refused, the
re-engagement window closed) is recorded failed, and its notice goes on the
next channel the citizen gave (``domain.take_over``), as a channel that fails
at send time does: the stand-in waits, due now, for the sweeper, which sends
it under the usual guards. ``delivered`` and ``read`` are recorded; a message
known to have reached the phone is never resent, whatever comes after.

Meta delivers at least once and in any order: every step is idempotent (a
stand-in has the id ``<event_id>.<channel>``, made once) and a status is
found by the id the Cloud API gave the message (``wamid``). A callback about
a message whose send is not recorded yet (it came before our own record of
the reply) is answered 503: Meta delivers it again later.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from typing import Protocol

from shared.errors import Msg, ValidationFailed, refuse_repeated
from shared.http import TOO_DEEP, json_document
from shared.masking import mask_phone, mask_text
from shared.text_rules import text_problem

from .domain import FALLBACK, UNREADABLE_REPLY, OutgoingMessage, take_over
from .exceptions import BadSignature, Forbidden, NotYetRecorded

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
# statuses that change what the delivery log says; ``sent`` (the Cloud API
# passed it on) it says already, others (``deleted``, ``warning``) are not ours
REACHED = ("delivered", "read")
FAILED = "failed"
_HEX_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
# Meta sends a number; nothing but URL-safe characters is echoed back
_CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{1,128}")
MAX_ERROR_TEXT = 200
# a wamid is ~60 characters, our reference under 100: longer is not Meta's
MAX_ID_TEXT = 256

MISSING = Msg("Tanda tangan X-Hub-Signature-256 tidak ada atau rusak.",
              "X-Hub-Signature-256 signature missing or malformed.")
MISMATCH = Msg("Tanda tangan X-Hub-Signature-256 tidak cocok.",
               "X-Hub-Signature-256 signature does not match.")
NOT_VERIFIED = Msg("Verifikasi webhook ditolak.", "Webhook verification refused.")
BAD_CHALLENGE = Msg("Harus 1-128 karakter (huruf, angka, . _ ~ -).",
                    "Must be 1-128 characters (letters, digits, . _ ~ -).")
NOT_JSON = Msg("Isi permintaan harus objek JSON dalam UTF-8.",
               "Request body must be a JSON object in UTF-8.")


# what Meta's verification handshake sends
HUB_PARAMETERS = ("hub.mode", "hub.verify_token", "hub.challenge")


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, header: str | None, body: bytes) -> None:
    """``BadSignature`` unless ``header`` is the app secret's HMAC-SHA256 of
    the raw ``body``, compared in constant time."""
    given = _HEX_SIGNATURE.fullmatch((header or "").strip())
    if given is None:
        raise BadSignature(MISSING)
    expected = signature(secret, body).removeprefix("sha256=")
    if not hmac.compare_digest(expected, given.group(1).lower()):
        raise BadSignature(MISMATCH)


def handshake(params, verify_token: str) -> str:
    """The challenge to echo when Meta verifies the endpoint
    (``hub.mode=subscribe``, the verify token set in the Meta app);
    ``Forbidden`` otherwise, the token compared in constant time.
    ``params``: the query (a ``MultiDict``); a ``hub.*`` parameter given
    more than once is a 400 naming it, as any repeated query parameter."""
    refuse_repeated(params, HUB_PARAMETERS)
    token = str(params.get("hub.verify_token") or "")
    right = hmac.compare_digest(token.encode(), verify_token.encode())
    if params.get("hub.mode") != "subscribe" or not right:
        raise Forbidden(NOT_VERIFIED)
    challenge = str(params.get("hub.challenge") or "")
    if not _CHALLENGE.fullmatch(challenge):
        raise ValidationFailed({"hub.challenge": [BAD_CHALLENGE]})
    return challenge


@dataclass(frozen=True)
class StatusUpdate:
    """One status of one message, as a callback tells it."""

    wamid: str  # the id the Cloud API gave the message
    status: str  # sent, delivered, read, failed (or another Meta adds)
    at: datetime.datetime | None  # when it happened, by Meta
    reference: str | None = None  # biz_opaque_callback_data: our message id
    error: str | None = None  # "whatsapp 131026: Message undeliverable"
    recipient: str | None = None  # the phone: for a masked log line only

    @property
    def masked(self) -> str:
        return (f"{self.status} of {self.reference or wamid_digest(self.wamid)} "
                f"to {mask_phone(self.recipient)}")


def wamid_digest(wamid: str) -> str:
    """What a log line or an operator is shown of a WhatsApp message id: a
    digest. Meta's id is base64 of the recipient's number and more - its
    first 24 characters held most of the phone, the masked one the rest (a
    review: the whole number, from one log line)."""
    return "wamid#" + hashlib.sha256(wamid.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Callback:
    """A delivery of the webhook: its status updates, and how many user
    messages came with it (not ours to answer: the WhatsApp bot is a
    front-end channel, docs/channel-api.md)."""

    statuses: tuple[StatusUpdate, ...]
    inbound: int = 0


def _items(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def read_callback(raw: bytes) -> Callback:
    """The status updates of a (signed) delivery. Meta's payload:
    ``{"object": "whatsapp_business_account", "entry": [{"changes": [{"value":
    {"statuses": [...], "messages": [...]}, "field": "messages"}]}]}``. What
    has another shape (a field Meta adds, another webhook field) is passed
    over: the body is Meta's, refusing it would only make Meta retry it."""
    try:
        data = json_document(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed({"_body": [NOT_JSON]}) from None
    except RecursionError:  # JSON all the same: nested deeper than any body we take
        raise ValidationFailed({"_body": [TOO_DEEP]}) from None
    if not isinstance(data, dict):
        raise ValidationFailed({"_body": [NOT_JSON]})
    statuses, inbound = [], 0
    for entry in _items(data.get("entry")):
        for change in _items(entry.get("changes")):
            value = change.get("value") if isinstance(change.get("value"), dict) else {}
            inbound += len(_items(value.get("messages")))
            statuses += [update for update in map(status_update, _items(value.get("statuses")))
                         if update is not None]
    return Callback(tuple(statuses), inbound)


def status_update(item: dict) -> StatusUpdate | None:
    """One ``statuses[]`` item; None without a message id or a status that is
    text (``text``). A reference or a phone that is no text is as none: the
    message is still found by its id."""
    wamid, status = text(item.get("id")), text(item.get("status"))
    if wamid is None or status is None:
        return None
    return StatusUpdate(wamid, status, unix_time(item.get("timestamp")),
                        text(item.get("biz_opaque_callback_data")),
                        error_text(item.get("errors")) if status == FAILED else None,
                        text(item.get("recipient_id")))


def text(value, limit: int = MAX_ID_TEXT) -> str | None:
    """``value`` if it is a string that can be stored, logged and looked up:
    not empty, at most ``limit`` characters, no control character or lone
    surrogate (``"\\ud800"`` is valid JSON, but no BSON nor UTF-8 log line
    carries it); else None. The request bodies' rule (``shared.text_rules``)."""
    if not isinstance(value, str) or not value or len(value) > limit or text_problem(value):
        return None
    return value


def unix_time(value) -> datetime.datetime | None:
    """Meta's ``timestamp`` (unix seconds, as a string) in UTC; None if unreadable."""
    try:
        return datetime.datetime.fromtimestamp(int(str(value)), datetime.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def error_text(errors) -> str:
    """``"whatsapp 131026: Message undeliverable"``: the first error's code and
    title (Meta's fixed words), never its details; bounded, and masked all the
    same (a phone number in it would be logged and shown to operators)."""
    first = (_items(errors) or [{}])[0]
    code = first.get("code")  # a number; text that cannot be stored is as none
    code = code if type(code) is int else text(code, 32) or "error"
    title = text(first.get("title"), 10_000) or text(first.get("message"), 10_000)
    told = "whatsapp " + (f"{code}: {title}" if title else str(code))
    return mask_text(told[:MAX_ERROR_TEXT])


# ---- what a status does ------------------------------------------------------


@dataclass(frozen=True)
class Logged:
    """A WhatsApp message on file, as far as its callbacks look at it."""

    message: OutgoingMessage  # with its notice, if it keeps one
    status: str  # pending, held, sent, failed ...
    provider_ref: str | None  # the Cloud API's id, once sent
    reached: bool  # delivered or read recorded
    sent_at: datetime.datetime | None = None  # when we recorded it sent

    def sent_as(self, wamid: str) -> bool:
        """Whether the Cloud API's ``wamid`` is this message's send: its own
        id, or - for a send whose reply could not be read - the one the
        callback names by our message id."""
        return self.provider_ref in (wamid, UNREADABLE_REPLY)


class CallbackStore(Protocol):
    """What the callbacks need of the store (``NotificationStore``)."""

    def whatsapp_message(self, wamid: str, reference: str | None) -> Logged | None:
        """The WhatsApp message the Cloud API calls ``wamid``, else the one
        our ``reference`` names; None if neither is on file."""

    def record_reached(self, message_id: str, status: str, at: datetime.datetime) -> None:
        """Note ``delivered`` / ``read`` (each once, the earliest time)."""

    def record_whatsapp_failed(self, message: OutgoingMessage, reason: str,
                               at: datetime.datetime) -> bool:
        """Mark a sent message not known to have reached the phone failed,
        and emit ``notification_failed``; whether it is failed now (by this
        call or an earlier one)."""

    def hold_new(self, message: OutgoingMessage, reason: str, until: datetime.datetime) -> None:
        ...


def settle_status(update: StatusUpdate, store: CallbackStore, now: datetime.datetime) -> str:
    """Apply one status update; what it did, for the log. ``NotYetRecorded``
    for a message whose send is not recorded yet."""
    if update.status not in (*REACHED, FAILED):
        return "nothing to record"
    logged = store.whatsapp_message(update.wamid, update.reference)
    if logged is None:
        return "unknown message"
    if logged.status == "pending":
        # being sent: not recorded yet - a re-send too, though it keeps the
        # first send's reference (its failure, answered "another send", was
        # lost: a review)
        raise NotYetRecorded()
    if not logged.sent_as(update.wamid):
        return "another send of the message"  # a resend after a crash: that one counts
    # the callback's time, but never before the message was sent (outside
    # audit T4: a callback with an old timestamp showed "delivered" days
    # before "sent" in the delivery log)
    at = max(filter(None, (update.at or now, logged.sent_at)))
    if update.status in REACHED:
        store.record_reached(logged.message.message_id, update.status, at)
        return f"recorded {update.status}"
    if logged.reached:
        return "failed after it reached the phone: nothing resent"
    if not store.record_whatsapp_failed(logged.message, update.error or "whatsapp failed", at):
        return "no longer failable"  # reached the phone meanwhile
    stand_in = take_over(logged.message)
    if stand_in is None:
        return "failed; no other channel to take over"
    store.hold_new(stand_in, FALLBACK, now)
    return f"failed; {stand_in.channel} takes over"


def settle_callback(callback: Callback, store: CallbackStore,
                    now: datetime.datetime) -> list[tuple[StatusUpdate, str]]:
    """Every status of a delivery, in its order: (update, what it did).
    ``NotYetRecorded`` after the others were applied, so one message not
    recorded yet holds back no other (the redelivery changes nothing of them)."""
    done, later = [], False
    for update in callback.statuses:
        try:
            done.append((update, settle_status(update, store, now)))
        except NotYetRecorded:
            done.append((update, "not recorded yet: Meta delivers it again"))
            later = True
    for update, outcome in done:
        log.info("whatsapp status %s: %s", update.masked, outcome)
    if callback.inbound:
        log.info("whatsapp: %d user message(s) ignored (the bot answers them)", callback.inbound)
    if later:
        raise NotYetRecorded()
    return done
