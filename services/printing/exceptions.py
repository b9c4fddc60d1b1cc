"""Printing's domain errors."""

from shared.errors import Conflict, KeyReused, Msg, NotFound, ServiceBusy, TooManyAttempts


class JobNotFound(NotFound):
    def __init__(self):
        super().__init__(Msg("Pekerjaan cetak tidak ditemukan.", "Print job not found."))


class DocumentNotFound(NotFound):
    """Unknown tracking code, or a NIK that is not the job's: the same answer
    for both, so a guess learns nothing."""

    def __init__(self):
        super().__init__(Msg("Dokumen dengan kode lacak dan NIK tersebut tidak ditemukan.",
                             "No document with that tracking code and NIK."))


class PrrImportNotFound(NotFound):
    def __init__(self):
        super().__init__(Msg("Impor PRR tidak ditemukan.", "PRR import not found."))


class LeaseLost(Conflict):
    def __init__(self):
        super().__init__(Msg("Sewa pekerjaan cetak sudah habis atau milik stasiun lain.",
                             "The job's lease expired or belongs to another station."),
                         {"lease_token": [Msg("Tidak berlaku.", "Not valid.")]})


class NotAtCounter(Conflict):
    """The document is not (or no longer) waiting at a pickup counter."""
    code = "not_at_counter"

    def __init__(self):
        # audit A: said to a card's cancelled print too ("not ready yet")
        super().__init__(Msg("Dokumen belum siap diambil di loket, sudah diambil, atau "
                             "cetaknya dibatalkan.",
                             "The document is not waiting at a pickup counter: not ready yet, "
                             "collected, or its print was cancelled."))


class NotAtOffice(Conflict):
    """An officer's hand-over of a document not at their office yet: not
    printed, waiting at the Dinas for the rest of its list, or its officer's
    day at the Dinas (``day``, an ISO date) not come yet; or collected
    elsewhere (at the counter)."""
    code = "not_at_office"

    def __init__(self, day: str | None = None):
        if day is None:
            message = Msg("Dokumen belum ada di kantor: belum dicetak, masih di Dinas, atau sudah "
                          "diambil di tempat lain.",
                          "The document is not at the office: not printed yet, still at the "
                          "Dinas, or collected elsewhere.")
        else:
            message = Msg(f"Dokumen baru diambil petugas di Dinas pada {day}: serah terimanya "
                          "dapat dicatat mulai tanggal itu.",
                          f"The officer collects the document at the Dinas on {day}: its "
                          "hand-over can be recorded from that day.")
        super().__init__(message)


class HolderDeceased(Conflict):
    """A card whose holder is recorded as deceased (an Akta Kematian verified
    here): not handed over to anyone at a counter or office."""
    code = "holder_deceased"

    def __init__(self):
        super().__init__(Msg("Pemilik kartu ini tercatat telah meninggal dunia (akta kematian "
                             "diverifikasi): kartu tidak dapat diserahkan. Hubungi operator "
                             "Dinas.",
                             "The holder of this card is recorded as deceased (death "
                             "certificate verified): the card cannot be handed over. Refer to "
                             "a Dinas operator."))


class DeceasedHoldKept(Conflict):
    """An operator's release of a job held ``holder_deceased``, or a reprint
    of such a card printed before the death was recorded: a card of a person
    recorded deceased is never printed (again) - cancel it."""
    code = "holder_deceased"

    def __init__(self):
        super().__init__(Msg("Pemilik kartu ini tercatat telah meninggal dunia (akta kematian "
                             "diverifikasi): kartu tidak lagi dicetak untuknya. Batalkan "
                             "cetakan ini.",
                             "The holder of this card is recorded as deceased (death "
                             "certificate verified): no card is printed for them any more. "
                             "Cancel this print job."))


class WindowUnavailable(Conflict):
    """The asked-for pickup window does not exist, is too early or is full."""
    code = "window_unavailable"

    def __init__(self, field: str = "start"):
        super().__init__(Msg("Jadwal pengambilan tersebut tidak tersedia.",
                             "That pickup window is not available."),
                         {field: [Msg("Pilih jadwal lain.", "Choose another window.")]})


# a print job's status as an operator's 409 names it (``NotHeld``,
# ``NotPrinted``): its label, and the code the operator's views show
JOB_STATUSES = {
    "queued": Msg("dalam antrean cetak", "queued for printing"),
    "leased": Msg("sedang dicetak di stasiun", "being printed at a station"),
    "held": Msg("ditahan", "held"),
    "printed": Msg("sudah dicetak", "printed"),
    "collected": Msg("sudah diambil atau diserahkan", "collected or handed over"),
    "cancelled": Msg("dibatalkan", "cancelled"),
}


def _status_named(status: str) -> Msg:
    label = JOB_STATUSES.get(status, Msg(status, status))
    return Msg(f'"{label}" ({status})', f'"{label.en}" ({status})')


class NotHeld(Conflict):
    """Release or cancel of a job that is not held, naming where it stands
    (outside review: "not held" alone sent the operator looking)."""
    code = "not_held"

    def __init__(self, status: str):
        named = _status_named(status)
        super().__init__(Msg(f"Pekerjaan cetak ini tidak sedang ditahan: statusnya {named}.",
                             f"This print job is not held: it is {named.en}."))


class NotPrinted(Conflict):
    """A reprint asked of a job not printed yet: it is in the queue, on a
    station's lease or held (release or cancel it), or cancelled - named."""
    code = "not_printed"

    def __init__(self, status: str):
        named = _status_named(status)
        super().__init__(Msg(f"Dokumen ini belum dicetak (status pekerjaan cetak: {named}): "
                             "tidak dapat dicetak ulang.",
                             f"This document is not printed (the print job is {named.en}): "
                             "it cannot be reprinted."))


class HandedOver(Conflict):
    """A reprint asked of a document its citizen (or office) has: collected
    at a counter or handed over by an officer."""
    code = "handed_over"

    def __init__(self):
        super().__init__(Msg("Dokumen ini sudah diambil atau diserahkan: tidak dapat dicetak "
                             "ulang.",
                             "This document was collected or handed over: it cannot be "
                             "reprinted."))


class WithPos(Conflict):
    """A reprint asked of a document Pos Indonesia has in hand: in a
    citizen's own parcel, or in its jemput-bola manifest's (``parcel_picked_up``)."""
    code = "with_pos"

    def __init__(self):
        super().__init__(Msg("Dokumen ini sudah di tangan Pos Indonesia (dalam kiriman "
                             "pemohon atau kiriman kelurahan): tidak dapat dicetak ulang.",
                             "Pos Indonesia has this document in hand (in the citizen's "
                             "parcel or a kelurahan's): it cannot be reprinted."))


class DocumentPrinted(Conflict):
    """A download under the lease of a job reported printed (or collected):
    a new issuance would be a second valid document of one print."""
    code = "reported_printed"

    def __init__(self):
        super().__init__(Msg("Dokumen pekerjaan ini sudah dilaporkan tercetak: tidak dapat "
                             "diunduh lagi. Cetak ulang hanya lewat operator.",
                             "This job's document was reported printed: it cannot be "
                             "downloaded again. A reprint goes through an operator."),
                         {"lease_token": [Msg("Cetakannya sudah dilaporkan.",
                                              "Its print was reported.")]})


class BlankoKeyReused(KeyReused):
    """409 naming the ``Idempotency-Key`` of an earlier blanko delivery
    recorded with another station or amount."""

    def __init__(self):
        super().__init__(Msg("penerimaan blanko", "blanko delivery"))


class UnknownStation(NotFound):
    """A blanko delivery for a station neither configured (``STATIONS``) nor
    tracked yet (no stock recorded, no ``out_of_blanko`` report)."""

    def __init__(self):
        super().__init__(Msg(
            "Stasiun cetak tidak dikenal: tidak ada di STATIONS dan stok blankonya "
            "belum pernah dicatat.",
            "Unknown printing station: not in STATIONS and no blanko stock recorded for it "
            "yet."))


class TooManyVerifications(TooManyAttempts):
    """The public verification endpoint's per-client limit (429 + Retry-After)."""

    too_many = Msg("Terlalu banyak permintaan verifikasi.", "Too many verification requests.")


class KiaPhotoMissing(Conflict):
    """A KIA that must carry the photo uploaded at intake has none to print
    (intake lists none, or it does not decode): the download holds the job
    for an operator (``data_error``) rather than print an empty photo box."""

    code = "photo_missing"

    def __init__(self):
        super().__init__(Msg(
            "Foto KIA tidak ada di layanan permohonan atau tidak terbaca: pekerjaan cetak "
            "ditahan untuk operator, jangan dicetak.",
            "The KIA's photo is missing at intake or unreadable: the print job is held for "
            "an operator, do not print it."))


class IntakeUnavailable(ServiceBusy):
    """Intake's documents API did not answer (a KIA photo): retry the download."""

    def __init__(self):
        super(ServiceBusy, self).__init__(Msg(
            "Foto dari layanan permohonan belum dapat diambil, silakan coba lagi.",
            "The photo could not be fetched from intake yet, please retry."))
