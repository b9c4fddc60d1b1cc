"""Why an operator rejects an application: the catalogue of reason codes.

An operator picks codes, not prose, so every rejection tells the citizen in
their language what is wrong and what to do about it (which document is
missing or unreadable, which field does not match), and the Dinas can count
them. A free-text note may add what no code says (``other`` needs one).
Plain Python, no nameko; the texts go into the ``application_rejected``
event and the citizen's timeline, so they hold no personal data and stay
short enough to sit in one SMS beside the tracking code.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Msg, ValidationFailed
from shared.events import REPLACEMENT_REASONS
from shared.fields import has_text
from shared.masking import mask_text

ALL = None  # a reason that applies to every document type
MAX_TEXT = 120  # characters; a rejection SMS also carries the tracking code
MAX_REASONS = 10


@dataclass(frozen=True)
class Reason:
    code: str
    # the field, or the supporting document (``documents.<kind>``, a kind of
    # ``requirements.DOCUMENT_KINDS``), the citizen must fix
    concerns: str
    text_id: str
    text_en: str
    document_types: frozenset[str] | None = ALL
    # a KTP-el's ``details.reason`` it applies to (None: any) - outside audit
    # C: a first card's citizen was told to upload a police report of a loss
    details_reasons: frozenset[str] | None = ALL

    def text(self, lang: str) -> str:
        return self.text_en if lang == "en" else self.text_id


def _types(*names: str) -> frozenset[str]:
    return frozenset(names)


KTP, LAHIR, MATI, PINDAH, KIA = (_types("ktp_el"), _types("akta_kelahiran"),
                                 _types("akta_kematian"), _types("skpwni"), _types("kia"))
# a KTP-el's ``details.reason``: its first card, or a replacement (and why)
FIRST_CARD, LOST, DAMAGED = _types("first_issue"), _types("lost"), _types("damaged")
REPLACEMENT = frozenset(REPLACEMENT_REASONS)

CATALOGUE: tuple[Reason, ...] = (
    # supporting documents: missing or unreadable
    Reason("kk_missing", "documents.kartu_keluarga",
           "Foto/scan Kartu Keluarga belum diunggah. Unggah KK yang berlaku.",
           "The family card (KK) is missing. Upload your current KK."),
    Reason("kk_unreadable", "documents.kartu_keluarga",
           "Foto Kartu Keluarga tidak terbaca. Unggah ulang foto KK yang jelas dan utuh.",
           "The family card (KK) photo is unreadable. Upload a sharp photo of the whole KK."),
    Reason("police_report_missing", "documents.surat_kehilangan",
           "Surat keterangan kehilangan dari kepolisian belum diunggah.",
           "The police report of the loss is missing. Upload it.", KTP, LOST),
    Reason("police_report_unreadable", "documents.surat_kehilangan",
           "Surat keterangan kehilangan tidak terbaca. Unggah ulang dengan jelas.",
           "The police report is unreadable. Upload a sharp copy.", KTP, LOST),
    Reason("old_card_missing", "documents.ktp_el",
           "Foto KTP-el lama yang rusak belum diunggah.",
           "The photo of the damaged old KTP-el is missing. Upload it.", KTP, DAMAGED),
    Reason("birth_letter_missing", "documents.surat_keterangan_lahir",
           "Surat keterangan lahir (atau SPTJM dengan 2 saksi) belum diunggah.",
           "Upload the birth statement from the hospital or midwife (surat keterangan lahir), "
           "or a sworn statement with 2 witnesses.", LAHIR),
    Reason("birth_letter_unreadable", "documents.surat_keterangan_lahir",
           "Surat keterangan lahir tidak terbaca. Unggah ulang dengan jelas.",
           "The birth statement (surat keterangan lahir) is unreadable. Upload a sharp copy.",
           LAHIR),
    Reason("marriage_certificate_missing", "documents.buku_nikah",
           "Buku nikah/akta perkawinan orang tua (atau SPTJM) belum diunggah.",
           "The parents' marriage certificate (or a sworn statement) is missing. Upload it.",
           LAHIR),
    Reason("marriage_certificate_unreadable", "documents.buku_nikah",
           "Buku nikah/akta perkawinan tidak terbaca. Unggah ulang dengan jelas.",
           "The marriage certificate is unreadable. Upload a sharp copy.", LAHIR),
    Reason("death_letter_missing", "documents.surat_kematian",
           "Surat keterangan kematian (dokter, lurah atau polisi) belum diunggah.",
           "The statement of death (surat keterangan kematian) from a doctor, the lurah or the "
           "police is missing. Upload it.", MATI),
    Reason("death_letter_unreadable", "documents.surat_kematian",
           "Surat keterangan kematian tidak terbaca. Unggah ulang dengan jelas.",
           "The statement of death (surat keterangan kematian) is unreadable. Upload a sharp "
           "copy.", MATI),
    Reason("deceased_ktp_missing", "documents.ktp_el",
           "KTP-el almarhum/almarhumah belum diunggah.",
           "The deceased's KTP-el is missing. Upload it.", MATI),
    # a name the certificate prints: the register does not know the NIK
    Reason("deceased_name_missing", "details.deceased_full_name",
           "Nama lengkap almarhum/almarhumah belum diisi. Isi sesuai KTP-el/KK.",
           "The deceased's full name is missing. Fill it in as on the KTP-el/KK.", MATI),
    Reason("parent_name_missing", "details",
           "Nama lengkap ibu/ayah belum diisi. Isi sesuai KTP-el/KK.",
           "The mother's/father's full name is missing. Fill it in as on the KTP-el/KK.",
           LAHIR),
    Reason("skpwni_missing", "documents.skpwni",
           "SKPWNI dari daerah asal belum diunggah.",
           "The SKPWNI from the place of origin is missing. Upload it.", PINDAH),
    Reason("birth_certificate_missing", "documents.akta_kelahiran",
           "Akta kelahiran anak belum diunggah.",
           "The child's birth certificate is missing. Upload it.", KIA),
    Reason("birth_certificate_unreadable", "documents.akta_kelahiran",
           "Akta kelahiran anak tidak terbaca. Unggah ulang dengan jelas.",
           "The child's birth certificate is unreadable. Upload a sharp copy.", KIA),
    Reason("photo_missing", "documents.foto",
           "Pas foto anak belum diunggah (wajib mulai usia 5 tahun).",
           "The child's photo is missing (required from age 5). Upload it.", KIA),
    Reason("photo_unreadable", "documents.foto",
           "Pas foto tidak jelas. Unggah foto berwarna, wajah terlihat penuh.",
           "The photo is unclear. Upload a colour photo showing the full face.", KIA),
    # fields that do not match the documents
    Reason("name_mismatch", "applicant.full_name",
           "Nama pemohon tidak sama dengan yang tertulis di KK. Perbaiki nama sesuai KK.",
           "The applicant's name differs from the KK. Correct it as written on the KK."),
    Reason("kk_number_mismatch", "applicant.kk_number",
           "Nomor KK tidak sama dengan KK yang diunggah. Perbaiki nomor KK.",
           "The KK number differs from the uploaded KK. Correct the number."),
    Reason("nik_not_on_kk", "documents.kartu_keluarga",
           "NIK pemohon tidak tercantum di KK yang diunggah. Unggah KK terbaru.",
           "The applicant's NIK is not on the uploaded KK. Upload your latest KK."),
    Reason("birth_date_mismatch", "details",
           "Tanggal lahir tidak sama dengan dokumen pendukung. Perbaiki tanggal lahir.",
           "The birth date differs from the supporting documents. Correct it.",
           _types("akta_kelahiran", "kia")),
    Reason("parent_mismatch", "details",
           "Data orang tua tidak sama dengan KK atau buku nikah. Perbaiki data orang tua.",
           "The parents' data differ from the KK or marriage certificate. Correct them.",
           _types("akta_kelahiran", "kia")),
    Reason("death_date_mismatch", "details",
           "Tanggal kematian tidak sama dengan surat keterangan kematian. Perbaiki tanggal "
           "kematian.",
           "The date of death differs from the statement of death. Correct it.", MATI),
    # an officer's application keeps the address the officer sent
    # (``request_fields.request_of``): a new one through the officer corrects it
    Reason("address_mismatch", "delivery.address",
           "Alamat tidak sesuai KK atau kode kelurahan salah. Perbaiki alamat (bila dikirim "
           "petugas: ajukan lagi lewat petugas).",
           "The address differs from the KK or its kelurahan code is wrong. Correct it (sent "
           "by an officer: apply again via them)."),
    Reason("replacement_reason_mismatch", "details.reason",
           "Alasan penggantian KTP-el tidak sesuai dengan dokumen. Pilih alasan yang benar.",
           "The KTP-el replacement reason does not match the documents. Choose the right one.",
           KTP, REPLACEMENT),
    # a first card for a NIK not recorded yet: a print needs the recording first
    Reason("not_recorded", "applicant.nik",
           "NIK ini belum rekam KTP-el. Buat janji perekaman, lalu ajukan cetak lagi.",
           "This NIK has no KTP-el recording yet. Book a recording, then apply to print.",
           KTP, FIRST_CARD),
    # what no code says: the operator's note explains it
    Reason("other", "note",
           "Lihat catatan petugas.",
           "See the officer's note."),
)
REASONS: dict[str, Reason] = {reason.code: reason for reason in CATALOGUE}
NEEDS_NOTE = frozenset({"other"})


def checked_codes(codes: list[str], document_type: str | None = None,
                  note: str | None = None, details_reason: str | None = None) -> list[str]:
    """The codes an operator gave, each once in the order given; or
    ``ValidationFailed`` naming ``reasons`` (an unknown code, one that does not
    apply to ``document_type`` or to a KTP-el's ``details_reason``, too many)
    or ``note`` (``other`` without one)."""
    codes = list(dict.fromkeys(codes))
    if unknown := [code for code in codes if code not in REASONS]:
        # as given, but an identity or phone number typed into the list masked
        listed = ", ".join(mask_text(code) for code in unknown)
        raise ValidationFailed({"reasons": [Msg(
            f"Kode alasan tidak dikenal: {listed}. Lihat katalog alasan.",
            f"Unknown reason code: {listed}. See the reason catalogue.")]})
    if not codes or len(codes) > MAX_REASONS:
        raise ValidationFailed({"reasons": [Msg(
            f"Pilih 1 sampai {MAX_REASONS} kode alasan.",
            f"Choose 1 to {MAX_REASONS} reason codes.")]})
    _refuse_foreign(codes, lambda reason: reason.document_types, document_type, document_type)
    _refuse_foreign(codes, lambda reason: reason.details_reasons, details_reason,
                    f"details.reason {details_reason}")
    if NEEDS_NOTE & set(codes) and not has_text(note):
        raise ValidationFailed({"note": [Msg(
            "Alasan 'other' wajib disertai catatan untuk pemohon.",
            "Reason 'other' needs a note for the applicant.")]})
    return codes


def _refuse_foreign(codes: list[str], applies_to, value: str | None, named: str) -> None:
    """``ValidationFailed`` naming ``reasons`` for the codes whose ``applies_to``
    (a reason's document types, or KTP-el ``details.reason``s; ``ALL``: any)
    leaves ``value`` out (``named`` in the message); None: nothing to check."""
    if value is None:
        return
    foreign = [code for code in codes
               if applies_to(REASONS[code]) is not ALL and value not in applies_to(REASONS[code])]
    if foreign:
        listed = ", ".join(foreign)
        raise ValidationFailed({"reasons": [Msg(
            f"Kode alasan tidak berlaku untuk {named}: {listed}.",
            f"Reason code does not apply to {named}: {listed}.")]})


def reason_texts(codes: list[str], lang: str) -> list[str]:
    """What the citizen reads for ``codes`` (a code no longer in the catalogue
    is shown as itself rather than hidden)."""
    return [REASONS[code].text(lang) if code in REASONS else code for code in codes]


def catalogue(lang: str, document_type: str | None = None) -> list[dict]:
    """The catalogue as operators pick from it, optionally for one document type."""
    return [{"code": r.code, "concerns": r.concerns, "text": r.text(lang),
             "document_types": sorted(r.document_types) if r.document_types else None,
             "details_reasons": sorted(r.details_reasons) if r.details_reasons else None}
            for r in CATALOGUE
            if document_type is None or r.document_types is ALL
            or document_type in r.document_types]
