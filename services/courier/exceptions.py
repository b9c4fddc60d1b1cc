"""Courier's domain errors: what a handler, the webhook or an operator can meet."""

from __future__ import annotations

import math

from shared.errors import (ArrivedEarly, Conflict, DomainError, Msg, NotFound, PartnerUnavailable,
                           ServiceBusy, Unauthorized, Unprocessable, ValidationFailed)
from shared.messaging import PermanentFailure


class PosUnavailable(PartnerUnavailable):
    """Pos Indonesia did not answer, timed out, answered 5xx or a "not now"
    4xx (408, 425, 429), or holds the order without saying its barcode
    (409): try again later (the handler raises, the shared delayed retry
    brings the event back; a posting stays in doubt). ``retry_after``: the
    seconds Pos' ``Retry-After`` asked for (capped), None without one - the
    retry waits at least that long (``shared.messaging.retry_delay``)."""

    def __init__(self, why: str, retry_after: float | None = None):
        super().__init__(why)
        self.retry_after = retry_after


class PosRefused(PermanentFailure):
    """Pos refused the posting itself (a 4xx other than 401 and those of
    ``PosUnavailable``): sending the same body again cannot help, so the
    event goes to the dead-letter queue for an operator. Carries Pos' field
    names, never their values."""


class UndeliverableAddress(PermanentFailure):
    """The address cannot make a posting: ``fields`` names what is missing
    (an unknown ``kelurahan_code``; a ``postal_code`` neither given nor known
    for the kelurahan). A citizen's shipment is then held for an operator;
    a jemput-bola manifest's event is dead-lettered. Names, never values."""

    def __init__(self, fields: list[str]):
        super().__init__("delivery address: " + ", ".join(fields))
        self.fields = fields


ADDRESS_PROBLEMS = {
    "kelurahan_code": Msg("Kode kelurahan tidak dikenal.", "Unknown kelurahan code."),
    "postal_code": Msg("Kode pos tidak ada dan tidak diketahui untuk kelurahan ini.",
                       "No postal code, and none is known for this kelurahan."),
}


class AddressStillIncomplete(ValidationFailed):
    """An operator's correction of a held shipment still cannot make a posting."""

    def __init__(self, fields: list[str]):
        super().__init__({field: [ADDRESS_PROBLEMS[field]] for field in fields})


class NotHeld(Conflict):
    code = "not_held"

    def __init__(self, status: str):
        super().__init__(Msg(f"Kiriman tidak sedang ditahan (status: {status}).",
                             f"The shipment is not held (status: {status})."))


# why a shipment cannot be recorded back at the Dinas (``NotReturnable``)
NOT_RETURNABLE = {
    # delivered, returned by Pos, or its documents in their citizens' hands
    "final": ("Kiriman sudah selesai (status: {}): tidak dapat dicatat kembali di Dinas.",
              "The shipment is final (status: {}): it cannot be recorded back at the Dinas."),
    # held for an operator, or pending: Pos never had the order
    "not_posted": ("Kiriman belum diserahkan ke Pos (status: {}): tidak ada yang kembali "
                   "dari Pos.",
                   "The shipment was never handed to Pos (status: {}): nothing came back "
                   "from Pos."),
}


class NotReturnable(Conflict):
    """An operator's record of a parcel back at the Dinas
    (``domain.back_at_dinas``) for a shipment that cannot be: its code is
    ``why`` (``NOT_RETURNABLE``), its message names the shipment's status."""

    def __init__(self, why: str, status: str):
        self.code = why
        id_text, en_text = NOT_RETURNABLE[why]
        super().__init__(Msg(id_text.format(status), en_text.format(status)))


class NotYetKnown(ArrivedEarly):
    """``document_printed`` for an application whose ``application_verified``
    courier has not seen yet (its queue is behind): retry later."""


class BadSignature(Unauthorized):
    code = "bad_signature"

    def __init__(self, why: Msg):
        super().__init__(why)


class ReplayedWebhook(Conflict):
    code = "replayed"

    def __init__(self):
        super().__init__(Msg("Event webhook ini sudah diterima.",
                             "This webhook event was already received."))


def dated_ahead(tolerance_seconds: int) -> Msg:
    """What an event dated ahead of courier's clock is told (on ``at``)."""
    minutes = tolerance_seconds // 60
    return Msg(f"Waktu event lebih dari {minutes} menit di depan jam kami: periksa jam pengirim.",
               f"Event time more than {minutes} minutes ahead of our clock: "
               "check the sender's clock.")


class DatedAhead(ValidationFailed):
    """A webhook's event dated later than courier's clock allows
    (``domain.timely``): refused, nothing kept; Pos may send it again."""

    def __init__(self, tolerance_seconds: int):
        super().__init__({"at": [dated_ahead(tolerance_seconds)]})


class UnknownShipment(NotFound):
    def __init__(self):
        super().__init__(Msg("Kiriman tidak ditemukan.", "Shipment not found."))


class ManifestNotKnown(NotFound):
    def __init__(self):
        super().__init__(Msg("Manifes tidak ditemukan.", "Manifest not found."))


class CollectedAtDinas(Conflict):
    """An operator's send-by-Pos for a manifest printing already released for
    its kelurahan's officer to collect at the Dinas (``batch_ready_for_kelurahan``)."""
    code = "collected_at_dinas"

    def __init__(self, day: str | None):
        on_id, on_en = (f" pada {day}", f" on {day}") if day else ("", "")
        super().__init__(Msg(
            f"Manifes ini sudah diserahkan ke kelurahan: petugasnya dipanggil mengambilnya di "
            f"Dinas{on_id} dan warganya diberi tahu untuk mengambil di kantor kelurahan. "
            "Manifes ini tidak dapat dikirim lewat Pos.",
            f"This manifest was already released to its kelurahan: its officer was called to "
            f"collect it at the Dinas{on_en} and its citizens told to collect at the kelurahan "
            "office. It cannot be sent by Pos."))


class ManifestNotYetKnown(ServiceBusy):
    """HTTP: 503 + Retry-After for a manifest intake may have just stored
    (``jemput_bola.may_be_on_its_way``): courier learns it in a moment."""
    code = "not_yet_known"

    def __init__(self):
        DomainError.__init__(self, Msg(
            "Manifes belum dikenal layanan kurir; bila batch-nya baru saja dikirim, coba lagi "
            "sebentar lagi. Bila tetap begini, periksa nomor manifes.",
            "The courier service does not know this manifest yet; if its batch was just "
            "sent, retry in a moment. If this persists, check the manifest id."))


class BarcodeNotYetKnown(ServiceBusy):
    """HTTP: 503 + Retry-After for a webhook about a barcode no shipment has
    while a posting is pending: Pos may have taken it and courier not yet
    recorded the barcode its answer carried (a posting whose answer was
    lost is recorded on its retry)."""
    code = "not_yet_known"

    def __init__(self):
        DomainError.__init__(self, Msg(
            "Nomor resi belum tercatat; bila kirimannya baru saja diterima Pos, kirim ulang "
            "sebentar lagi.",
            "The barcode is not recorded yet; if Pos has just taken the posting, send it "
            "again in a moment."))


class PosBusy(ServiceBusy):
    """HTTP: Pos is down for an operator's action; 503 + Retry-After - Pos'
    own (whole seconds, rounded up) when it gave one: a repeat sooner would
    find it down still."""

    def __init__(self, retry_after: float | None = None):
        DomainError.__init__(self, Msg("Pos Indonesia sedang tidak dapat dihubungi, coba lagi nanti.",
                                       "Pos Indonesia cannot be reached now, please retry."))
        self.retry_after = math.ceil(retry_after) if retry_after else None


class UndeliverableByPos(Unprocessable):
    def __init__(self, why: str):
        super().__init__(Msg(f"Pos Indonesia menolak kiriman ({why}).",
                             f"Pos Indonesia refused the posting ({why})."))


__all__ = ["AddressStillIncomplete", "BadSignature", "BarcodeNotYetKnown", "CollectedAtDinas",
           "DatedAhead", "DomainError",
           "ManifestNotKnown", "ManifestNotYetKnown", "NotHeld", "NotReturnable", "NotYetKnown",
           "PosRefused", "PosBusy", "PosUnavailable", "ReplayedWebhook",
           "UndeliverableAddress", "UndeliverableByPos", "UnknownShipment"]
