"""Intake's domain errors (HTTP maps them to 4xx bodies naming the field)."""

from shared.errors import Conflict, DomainError, KeyReused, Msg, NotFound, ServiceBusy

from .rule_helpers import DECEASED
from .subjects import subject_words


class ApplicationNotFound(NotFound):
    def __init__(self):
        super().__init__(Msg("Permohonan tidak ditemukan.", "Application not found."))


class ActiveApplicationExists(Conflict):
    def __init__(self, field: str = "applicant.nik", batch_row: int | None = None,
                 other_batch: dict | None = None):
        """``field``: where the request names the document's subject
        (``subjects``); the message says what that subject is. ``batch_row``:
        the row of the same jemput-bola batch that made the application in
        progress; ``other_batch``: an earlier batch of the same officer that
        made it (``batch_id``, ``row``)."""
        subject = subject_words(field)
        where = Msg("", "")
        if batch_row is not None:
            where = Msg(f" (baris {batch_row} batch ini)", f" (row {batch_row} of this batch)")
        elif other_batch is not None:
            where = Msg(f" (batch {other_batch['batch_id']} baris {other_batch['row']})",
                        f" (batch {other_batch['batch_id']}, row {other_batch['row']})")
        super().__init__(
            Msg(f"Masih ada permohonan jenis dokumen ini yang aktif untuk {subject}{where}.",
                f"An application of this document type for {subject.en} is still in "
                f"progress{where.en}."),
            {field: [Msg(f"Sudah ada permohonan yang sedang diproses{where}.",
                         f"An application is already in progress{where.en}.")]})


class BirthAlreadyRegistered(Conflict):
    """A birth is registered once: a birth certificate for this child (its
    subject, ``subjects.subject_key``) was verified here. A lost or damaged
    one is reissued (a *kutipan kedua*), not registered again."""

    code = "birth_already_registered"

    def __init__(self):
        super().__init__(
            Msg("Kelahiran anak ini sudah dicatat (akta kelahiran dengan NIK ibu, tanggal lahir "
                "dan nama anak yang sama sudah diverifikasi); kelahiran hanya dicatat sekali. "
                "Akta kelahiran yang hilang atau rusak diterbitkan ulang sebagai kutipan kedua "
                "di Disdukcapil, bukan didaftarkan lagi.",
                "This child's birth is already registered (a birth certificate with the same "
                "mother's NIK, birth date and child's name was verified); a birth is registered "
                "once. A lost or damaged birth certificate is not registered again: apply at "
                "the Disdukcapil for a second copy of the birth certificate (kutipan kedua)."),
            {"details.child": [Msg("Kelahiran ini sudah dicatat: ajukan kutipan kedua.",
                                   "This birth is already registered: apply for a second "
                                   "copy of the birth certificate (kutipan kedua).")]})


class WrongStatus(Conflict):
    """409: the action does not apply to the application's status, named
    by the label its timeline shows (``label``: ``domain.Status.label``
    in each language), not by its code."""

    def __init__(self, label: Msg):
        super().__init__(Msg(f'Permohonan sudah berstatus "{label}" dan tidak dapat diproses.',
                             f'The application is already "{label.en}" and cannot take '
                             'this action.'))


class PhotoNotUploaded(Conflict):
    """Verify refused: the card prints a photo the citizen declared but never
    uploaded. 409 naming each missing kind (``documents.foto``)."""

    code = "photo_not_uploaded"

    def __init__(self, missing: list):
        """``missing``: the ``requirements.Requirement`` not met."""
        super().__init__(
            Msg("Foto yang dicetak pada kartu belum diunggah; permohonan belum dapat "
                "diverifikasi. Tolak dengan alasan photo_missing agar pemohon mengunggahnya.",
                "The photo the card carries has not been uploaded; the application cannot "
                "be verified yet. Reject it with reason photo_missing so the citizen uploads it."),
            {f"documents.{kind}": [Msg(f"Belum diunggah: {req.label}.",
                                       f"Not uploaded: {req.label.en}.")]
             for req in missing for kind in req.any_of})


class PrintedNameMissing(Conflict):
    """Verify refused: the certificate names a person (the deceased, a
    parent) whom neither the register nor the citizen named. 409 naming each
    missing ``details.<role>_full_name``."""

    code = "printed_name_missing"

    def __init__(self, missing: list[str]):
        super().__init__(
            Msg("Nama yang dicetak pada akta belum diketahui: register kependudukan tidak "
                "memberikannya dan pemohon tidak mengisinya. Tolak dengan alasan "
                "deceased_name_missing atau parent_name_missing agar pemohon mengisinya.",
                "A name the certificate prints is not known: the population register did not "
                "give it and the citizen did not fill it in. Reject it with reason "
                "deceased_name_missing or parent_name_missing so the citizen fills it in."),
            {field: [Msg("Belum diisi: nama lengkap sesuai KTP-el/KK.",
                         "Not given: the full name as on the KTP-el/KK.")]
             for field in missing})


class PersonDeceased(Conflict):
    """Verify refused: a person the document is for is recorded as deceased
    (a death certificate verified here since the application came). 409
    naming each one's field (``domain.issued_for``)."""

    code = "deceased"

    def __init__(self, fields: list[str]):
        super().__init__(
            Msg("Dokumen ini untuk orang yang tercatat telah meninggal dunia (akta kematian "
                "diverifikasi); permohonan tidak dapat diverifikasi. Tolak dengan alasan other "
                "dan catatan untuk pemohon.",
                "This document is for a person recorded as deceased (a death certificate was "
                "verified); the application cannot be verified. Reject it with reason other "
                "and a note for the applicant."),
            {field: [DECEASED] for field in fields})


class BatchIdReused(Conflict):
    """409 naming ``batch_id``: a repeat of a batch id brought other rows
    than the batch stored under it (outside audit I: an officer's CSV cut
    short on its way was stored; the whole file sent again under its id was
    answered 200 with the first reply, and the missing rows never stored)."""

    code = "batch_id_reused"

    def __init__(self, rows: int):
        super().__init__(
            Msg(f"Batch id ini sudah dipakai untuk batch berisi lain ({rows} baris).",
                f"This batch id was already used for a batch of other rows ({rows} rows)."),
            {"batch_id": [Msg("Kirim ulang isi yang sama untuk jawaban pertamanya, atau "
                              "baris yang belum tersimpan dengan batch id baru.",
                              "Send the same rows again for its first reply, or the rows "
                              "not stored under a new batch id.")]})


class IdempotencyKeyReused(KeyReused):
    """409 naming the key as the client sent it: the ``Idempotency-Key``
    header over HTTP, ``request_id`` (the message_id) on the broker channel.
    ``booking``: the key came with a recording booking, which is no
    application (permohonan): the message says so."""

    def __init__(self, field: str = "Idempotency-Key", booking: bool = False):
        super().__init__(Msg("jadwal perekaman", "recording appointment") if booking else
                         Msg("permohonan", "application"), field)


class MovingMembersNotOnKk(Conflict):
    """Verify refused: an SKPWNI accepted while the register was silent
    names moving members the register, asked at the verification, does not
    have on the applicant's KK - what a submission is refused for (outside
    audit R2: it was verified and its "move" issued). 409 naming each."""

    code = "members_not_on_kk"

    def __init__(self, paths: list[str]):
        super().__init__(
            Msg("Menurut register kependudukan, anggota keluarga yang pindah tidak terdaftar pada "
                "No. KK pemohon. Tolak permohonan ini.",
                "By the population register, moving members are not on the applicant's family "
                "card (KK). Reject the application."),
            {path: [Msg("Tidak terdaftar pada No. KK ini.", "Not on this family card (KK).")]
             for path in paths})


class MembersNotNamedYet(ServiceBusy):
    """503 + Retry-After: an SKPWNI accepted while the register was silent
    is verified only once the register names its moving members (the
    certificate names them: outside audits R, R2)."""

    code = "register_unavailable"

    def __init__(self):
        DomainError.__init__(self, Msg(
            "Data kependudukan tidak dapat diperiksa saat ini: nama anggota keluarga yang pindah, "
            "yang dicetak pada SKPWNI, belum diketahui. Verifikasi lagi nanti.",
            "The population register cannot be checked now: the names of the moving members, "
            "which the SKPWNI prints, are not known yet. Verify it again later."))
