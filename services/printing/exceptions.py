"""Printing's domain errors."""

from shared.errors import Conflict, Msg, NotFound, ServiceBusy, TooManyAttempts


class JobNotFound(NotFound):
    def __init__(self):
        super().__init__(Msg("Pekerjaan cetak tidak ditemukan.", "Print job not found."))


class LeaseLost(Conflict):
    def __init__(self):
        super().__init__(Msg("Sewa pekerjaan cetak sudah habis atau milik stasiun lain.",
                             "The job's lease expired or belongs to another station."),
                         {"lease_token": [Msg("Tidak berlaku.", "Not valid.")]})


class NoSlotAvailable(Conflict):
    # distinct from a lost lease: the card is good, the station retries later
    code = "no_pickup_slot"

    def __init__(self):
        super().__init__(Msg("Tidak ada jadwal pengambilan yang tersedia.",
                             "No pickup slot is available."))


class TooManyVerifications(TooManyAttempts):
    """The public verification endpoint's per-client limit (429 + Retry-After)."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.message = Msg(
            f"Terlalu banyak permintaan verifikasi. Coba lagi dalam {retry_after} detik.",
            f"Too many verification requests. Retry in {retry_after} seconds.")


class IntakeUnavailable(ServiceBusy):
    """Intake's documents API did not answer (a KIA photo): retry the download."""

    def __init__(self):
        super(ServiceBusy, self).__init__(Msg(
            "Foto dari layanan permohonan belum dapat diambil, silakan coba lagi.",
            "The photo could not be fetched from intake yet, please retry."))
