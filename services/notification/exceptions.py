"""Notification's domain errors."""

from shared.errors import (ArrivedEarly, Conflict, DomainError, Msg, NotFound,
                           PartnerUnavailable, ServiceBusy, Unauthorized, ValidationFailed)


class DeliveryFailed(PartnerUnavailable):
    """A channel could not take a message now; the event is retried later.

    The text names the channel's cause (``"smtp failed: ..."``), never the
    message or the address: it is stored in the delivery log and logged.
    ``permanent``: the channel refused this message and would refuse it
    again (WhatsApp's 400 for a template, a parameter, a number): it is
    given up at once and its notice goes by the next channel.
    """

    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.permanent = permanent


class ContactNotYetKnown(ArrivedEarly):
    """An event whose citizen notice needs the contact book's entry of an
    application the book has none for yet (its ``application_submitted``
    is behind in its queue): the notices that could go went, the event is
    retried later for the rest. Names no one: only how many wait."""

    def __init__(self, waiting: list[str]):
        super().__init__(f"{len(waiting)} application(s) with no contact on file yet")


class BadSignature(Unauthorized):
    """A WhatsApp webhook delivery not signed with the app secret (401)."""

    code = "bad_signature"


class Forbidden(DomainError):
    """Meta's verification handshake with the wrong mode or verify token (403)."""

    status = 403
    code = "forbidden"


class NotYetRecorded(ServiceBusy):
    """A status callback about a WhatsApp message whose send notification has
    not recorded yet (the callback overtook our record of the Cloud API's
    reply): 503 + Retry-After, and Meta delivers it again."""

    code = "not_yet_recorded"

    def __init__(self):
        DomainError.__init__(self, Msg(
            "Pesan ini belum tercatat terkirim: kirim ulang status ini nanti.",
            "The message is not recorded as sent yet: deliver this status again later."))


class MessageNotFound(NotFound):
    def __init__(self):
        super().__init__(Msg("Pesan tidak ditemukan.", "Message not found."))


class NotGivenUp(Conflict):
    """A re-send asked of a message that is not ``failed``: it is sent,
    held, on its way, or was dropped - nothing to send again."""

    def __init__(self, status: str):
        super().__init__(Msg(f"Pesan berstatus '{status}': hanya pesan yang gagal dapat dikirim "
                             "ulang.",
                             f"The message is '{status}': only a message that failed can be "
                             "sent again."))


class TrackingCodeGiven(ValidationFailed):
    """A delivery log asked of a tracking code - what the citizen at the desk
    gives - where the application's id goes: answered "no messages", read
    as "we never texted you" (outside review). 400 naming application_id."""

    def __init__(self):
        super().__init__({"application_id": [Msg(
            "Ini kode lacak, bukan application_id: cari application_id-nya di intake "
            "(GET /api/v1/operator/applications?tracking_code=...).",
            "This is a tracking code, not an application_id: look its application_id up "
            "at intake (GET /api/v1/operator/applications?tracking_code=...).")]})
