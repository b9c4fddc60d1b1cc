"""Printing's domain errors."""

from shared.errors import Conflict, Msg, NotFound


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
