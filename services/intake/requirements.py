"""Which supporting documents each document type needs: data, in one place.

``DOCUMENT_KINDS`` names every kind of supporting document a citizen can
provide (a scan or a photo). ``REQUIRED_DOCUMENTS`` says, per document type,
which of them an application needs: each ``Requirement`` is met by any one of
its kinds, applies always or only under a condition the document's rules
decide (``when``: a fact such as ``child_5_or_older``), and may be optional
("the deceased's KTP-el, if any"). The rules check a submission's declared
``details.documents`` against it; uploads read the same table. Plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Msg


@dataclass(frozen=True)
class DocumentKind:
    label: Msg
    photo: bool = False  # a photograph of the person (JPEG/PNG), not a scan


DOCUMENT_KINDS: dict[str, DocumentKind] = {
    "kartu_keluarga": DocumentKind(Msg("Kartu Keluarga (KK)", "Family card (KK)")),
    # whose KTP-el follows from the document type: the applicant's, a parent's
    # (KIA), the deceased's (death certificate)
    "ktp_el": DocumentKind(Msg("KTP-el", "KTP-el (ID card)")),
    "surat_kehilangan": DocumentKind(Msg("Surat keterangan kehilangan dari kepolisian",
                                         "Police report of the loss")),
    "surat_keterangan_lahir": DocumentKind(Msg("Surat keterangan lahir dari fasilitas kesehatan",
                                               "Birth letter from the health facility")),
    "sptjm_kelahiran": DocumentKind(Msg("SPTJM kebenaran data kelahiran (dengan 2 saksi)",
                                        "Sworn statement (SPTJM) on the birth, with 2 witnesses")),
    "buku_nikah": DocumentKind(Msg("Buku nikah / akta perkawinan orang tua",
                                   "The parents' marriage certificate")),
    "sptjm_perkawinan": DocumentKind(Msg("SPTJM kebenaran sebagai pasangan suami istri",
                                         "Sworn statement (SPTJM) that the parents are married")),
    "surat_kematian": DocumentKind(Msg(
        "Surat keterangan kematian dari dokter, lurah/kepala desa atau kepolisian",
        "Death letter from a doctor, the lurah/village head or the police")),
    "skpwni": DocumentKind(Msg("SKPWNI dari daerah asal", "SKPWNI from the place of origin")),
    "akta_kelahiran": DocumentKind(Msg("Akta kelahiran anak", "The child's birth certificate")),
    # any type's uploads take it (a KTP-el's too): labelled as it is, not
    # "the child's" (outside audit S3); a KIA's requirement names the child
    "foto": DocumentKind(Msg("Pas foto berwarna", "A colour photo"), photo=True),
}


@dataclass(frozen=True)
class Requirement:
    name: str
    any_of: tuple[str, ...]  # kinds in DOCUMENT_KINDS; any one meets the requirement
    when: str | None = None  # a fact the document's rules establish; None: always
    optional: bool = False   # accepted and listed, never required ("if any")
    named: Msg | None = None  # its own label, else its kinds'

    @property
    def label(self) -> Msg:
        if self.named is not None:
            return self.named
        labels = [DOCUMENT_KINDS[kind].label for kind in self.any_of]
        return Msg(" atau ".join(labels), " or ".join(label.en for label in labels))


KK = Requirement("kartu_keluarga", ("kartu_keluarga",))

REQUIRED_DOCUMENTS: dict[str, tuple[Requirement, ...]] = {
    # KTP-el carries its evidence in ``details`` today (police report number,
    # old card surrendered): its kinds are listed for uploads, none required
    "ktp_el": (
        Requirement("kartu_keluarga", ("kartu_keluarga",), optional=True),
        Requirement("surat_kehilangan", ("surat_kehilangan",), when="reason_lost",
                    optional=True),
    ),
    "akta_kelahiran": (
        Requirement("birth_proof", ("surat_keterangan_lahir", "sptjm_kelahiran")),
        Requirement("marriage_proof", ("buku_nikah", "sptjm_perkawinan"),
                    when="parents_married"),
        KK,
    ),
    "akta_kematian": (
        Requirement("surat_kematian", ("surat_kematian",)),
        KK,
        Requirement("ktp_el", ("ktp_el",), optional=True),  # the deceased's, if any
    ),
    "skpwni": (
        Requirement("kartu_keluarga", ("kartu_keluarga",), when="pindah_keluar"),
        Requirement("skpwni", ("skpwni",), when="pindah_datang"),
    ),
    "kia": (
        Requirement("akta_kelahiran", ("akta_kelahiran",)),
        KK,
        Requirement("ktp_el", ("ktp_el",)),  # a parent's
        Requirement("foto", ("foto",), when="child_5_or_older",
                    named=Msg("Pas foto anak berwarna", "A colour photo of the child")),
    ),
}


def applicable(document_type: str, facts: frozenset[str] | set[str]) -> list[Requirement]:
    """The requirements of ``document_type`` that apply, given the rules' facts."""
    return [req for req in REQUIRED_DOCUMENTS[document_type]
            if req.when is None or req.when in facts]


def required(document_type: str, facts) -> list[Requirement]:
    """The applicable requirements that must be met (not the optional ones)."""
    return [req for req in applicable(document_type, facts) if not req.optional]


def missing(document_type: str, provided, facts) -> list[Requirement]:
    """The required documents that ``provided`` (kinds) does not cover."""
    have = set(provided)
    return [req for req in required(document_type, facts) if not have & set(req.any_of)]


def required_photos(application: dict) -> list[Requirement]:
    """The photos the document printed for ``application`` carries (a KIA's
    from age 5), as its ``required_documents`` - decided at submission from
    this table - say. Printing asks through intake's documents listing
    (``photo_required``)."""
    names = set(application.get("required_documents", ()))
    return [req for req in REQUIRED_DOCUMENTS[application["document_type"]]
            if req.name in names and any(DOCUMENT_KINDS[kind].photo for kind in req.any_of)]


def photos_not_uploaded(application: dict) -> list[Requirement]:
    """The required photos no uploaded document meets: a card prints the
    photo, so declaring it in ``details.documents`` is not enough to verify
    the application (``domain.verify``)."""
    have = {entry["kind"] for entry in application.get("documents", ())}
    return [req for req in required_photos(application) if not have & set(req.any_of)]


# the facts a ``when`` may name, each established by its document's rules
FACTS = {
    "reason_lost": "ktp_el: a replacement for a lost card",
    "parents_married": "akta_kelahiran: details.parents_married",
    "pindah_keluar": "skpwni: details.move is pindah_keluar",
    "pindah_datang": "skpwni: details.move is pindah_datang",
    "child_5_or_older": "kia: the child is 5 or older today",
}
