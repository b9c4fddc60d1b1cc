"""Supporting documents: what a citizen may upload, and how much. Plain Python.

A document is a JPEG or PNG photo or a PDF scan. Its type is read from its
content - never from its file name or the Content-Type the client declared,
which a phone or a browser sets from the name. Reading a little further than
the first bytes (a JPEG's frame header, a PNG's IHDR, a PDF's trailer) also
refuses a text file that merely starts like an image, and a truncated file.
Three formats need ~40 lines here; a sniffing library (``filetype``) checks
only the first bytes, so it would add a dependency and still need these. A
photo of the person (``foto``), which a card prints, is also decoded in full
by the decoder printing uses (``shared.photos``): a photo with a frame and no
pixels is refused now, while the citizen can send another, not at the
printer once the application is verified. Its size is read from the header
first (ours and Pillow's reading of it): a file of a few hundred KB can
declare a bitmap of hundreds of MB. It is decoded off intake's eventlet hub,
a few at once (``shared.photos.off_the_hub``), and only once the request's
tracking code and NIK matched within their limits (``api_documents``): a
made-up code costs a lookup, not a decode.

Limits: per file (``max_file_bytes``: 413) and per application (total bytes
and number of files: 409, the application has no room left); an application
takes documents only while it waits for the Dinas: ``submitted``, or
``rejected`` (awaiting the citizen's corrections).
"""

from __future__ import annotations

import datetime
import hashlib
import struct
import uuid
from dataclasses import dataclass

from shared.clock import whole_milliseconds
from shared.errors import (Conflict, DomainError, Msg, NotFound, PayloadTooLarge, ServiceBusy,
                           ValidationFailed, localize)
from shared.photos import (MAX_PHOTO_PIXELS, PhotoTooLarge, PhotoUnreadable, decoded_photo,
                           off_the_hub)

from .domain import STATUSES
from .views import replaced_by
from .requirements import DOCUMENT_KINDS

# statuses in which an application takes documents: waiting for the Dinas'
# check, or rejected and waiting for the citizen's corrections (a
# resubmission takes them back to the queue; see domain.TRANSITIONS)
ACCEPTS_DOCUMENTS = ("submitted", "rejected")

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
EXTENSIONS = {JPEG: "jpg", PNG: "png", PDF: "pdf"}
# a small file can still decode to a huge bitmap (a "decompression bomb"),
# here (a photo of the person, up to 4 bytes a pixel: 100 MB at the cap) or
# in the operator's viewer. What a citizen sends fits: a phone photo is 12
# megapixels (a 48-50 MP sensor saves 12 unless set to full size, and such a
# file exceeds the 2 MiB file limit anyway); a scan of a KK or a letter on F4
# paper (215 x 330 mm) is 9.9 MP at 300 dpi, 22 MP at 450 dpi
MAX_IMAGE_PIXELS = MAX_PHOTO_PIXELS
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (C4 DHT, C8 JPG, CC DAC are not frames)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})

NOT_A_DOCUMENT = Msg(
    "Berkas harus berupa foto JPEG/PNG atau pindaian PDF (jenis dibaca dari isi berkas, "
    "bukan dari namanya).",
    "The file must be a JPEG/PNG photo or a PDF scan (its type is read from its content, "
    "not its name).")


TOO_MANY_PIXELS = Msg(
    f"Gambar terlalu besar: lebih dari {MAX_IMAGE_PIXELS // 1_000_000} megapiksel. Perkecil "
    "ukurannya lalu kirim lagi.",
    f"The image is too large: over {MAX_IMAGE_PIXELS // 1_000_000} megapixels. Please resize it "
    "and send it again.")


UNREADABLE_PHOTO = Msg(
    "Pas foto tidak dapat dibaca sebagai gambar (berkas rusak atau tidak lengkap): kirim "
    "foto lain.",
    "The photo cannot be read as an image (the file is damaged or incomplete): please send "
    "another photo.")


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    max_total_bytes: int
    max_files: int


# the defaults of config's UPLOAD_* keys
DEFAULT_LIMITS = UploadLimits(max_file_bytes=2 * 1024 * 1024, max_total_bytes=10 * 1024 * 1024,
                              max_files=20)
# an upload's body is the file and the form's other parts around it
MULTIPART_ENVELOPE = 64 * 1024
DEFAULT_BODY_BYTES = DEFAULT_LIMITS.max_file_bytes + MULTIPART_ENVELOPE


@dataclass(frozen=True)
class CheckedFile:
    content: bytes
    content_type: str
    sha256: str
    width: int | None = None  # images only
    height: int | None = None

    @property
    def size(self) -> int:
        return len(self.content)


class FileTooLarge(PayloadTooLarge):
    def __init__(self, limit: int):
        super().__init__(
            Msg(f"Berkas melebihi batas {limit} byte.", f"The file exceeds {limit} bytes."),
            {"file": [Msg(f"Maksimal {limit} byte per berkas.",
                          f"At most {limit} bytes per file.")]})


class DocumentLimitReached(Conflict):
    code = "document_limit_reached"

    def __init__(self, id_text: str, en_text: str):
        super().__init__(Msg("Permohonan ini tidak dapat menerima dokumen lagi.",
                             "This application cannot take more documents."),
                         {"file": [Msg(id_text, en_text)]})


class DocumentsChanging(ServiceBusy):
    """503: the application's documents kept changing under this upload
    (other uploads to it at the same moment): nothing stored; sent again,
    it is listed (``documents_store.LISTING_ATTEMPTS``)."""

    def __init__(self):
        DomainError.__init__(self, Msg(
            "Dokumen permohonan ini sedang berubah bersamaan; silakan unggah ulang.",
            "This application's documents are changing at the same moment; please upload "
            "again."))


class DocumentsClosed(Conflict):
    """409: the application no longer takes documents, its status named by
    the label its timeline shows (``label``: ``domain.Status.labels``), as
    ``WrongStatus`` names it - not by its code (outside audit F6)."""

    def __init__(self, label: Msg):
        super().__init__(Msg(
            f'Permohonan berstatus "{label}": dokumen hanya dapat diunggah selama permohonan '
            "menunggu pemeriksaan atau perbaikan.",
            f'The application is "{label.en}": documents can be uploaded only while the '
            "application awaits checking or correction."))


class DocumentNotFound(NotFound):
    def __init__(self):
        super().__init__(Msg("Dokumen tidak ditemukan.", "Document not found."))


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the frame header, walking the segments from SOI;
    None unless the data is a JPEG with a frame and an end marker after it."""
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
        elif marker in _STANDALONE:
            i += 2
        elif marker in _SOF:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            # end of image after the frame (a phone may append data after it)
            if data.rfind(b"\xff\xd9") < i or not (width and height):
                return None
            return width, height
        elif marker in (0xD8, 0xD9, 0xDA):  # a second SOI, EOI or a scan before any frame
            return None
        else:
            i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


def _png_dimensions(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    if not (width and height) or data.rfind(b"IEND") < 24:
        return None
    return width, height


def _is_pdf(data: bytes) -> bool:
    return data[:7] in (b"%PDF-1.", b"%PDF-2.") and b"%%EOF" in data[-1024:]


def sniff(data: bytes) -> tuple[str, tuple[int, int] | None] | None:
    """(content type, image dimensions) read from the content, or None."""
    if (size := _jpeg_dimensions(data)) is not None:
        return JPEG, size
    if (size := _png_dimensions(data)) is not None:
        return PNG, size
    if _is_pdf(data):
        return PDF, None
    return None


def check_file(content: bytes, limits: UploadLimits, kind: str | None = None) -> CheckedFile:
    """The file as a supporting document (of ``kind``: a photo of a person
    must be an image), or FileTooLarge (413) / ValidationFailed on ``file`` (400)."""
    if len(content) > limits.max_file_bytes:
        raise FileTooLarge(limits.max_file_bytes)
    if not content:
        raise ValidationFailed({"file": [Msg("Berkas kosong.", "The file is empty.")]})
    sniffed = sniff(content)
    if sniffed is None:
        raise ValidationFailed({"file": [NOT_A_DOCUMENT]})
    content_type, size = sniffed
    photo = kind is not None and DOCUMENT_KINDS[kind].photo
    if photo and size is None:
        raise ValidationFailed({"file": [Msg("Pas foto harus berupa foto JPEG atau PNG.",
                                             "A photo must be a JPEG or PNG image.")]})
    if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise ValidationFailed({"file": [TOO_MANY_PIXELS]})
    if photo:
        try:
            off_the_hub(decoded_photo, content, MAX_IMAGE_PIXELS)
        except PhotoTooLarge:
            raise ValidationFailed({"file": [TOO_MANY_PIXELS]}) from None
        except PhotoUnreadable:
            raise ValidationFailed({"file": [UNREADABLE_PHOTO]}) from None
    width, height = size or (None, None)
    return CheckedFile(content, content_type, hashlib.sha256(content).hexdigest(), width, height)


def same_document(application: dict, kind: str, checked: CheckedFile) -> dict | None:
    """An entry already listed with this kind and content (a retried upload)."""
    return next((entry for entry in application.get("documents", ())
                 if entry["kind"] == kind and entry["sha256"] == checked.sha256), None)


def replaced_by_upload(application: dict, kind: str) -> list[dict]:
    """The documents an upload of ``kind`` takes the place of: a rejected
    application's documents of that kind listed before its latest rejection
    and not replaced yet - the rejection asked for them again (``kk_unreadable``:
    "Unggah ulang foto KK yang jelas"). They stay listed for the operator
    (``replaced_by``) but no longer count toward the limits (outside audit
    I: an application at its 20 files or 10 MiB could not take the one the
    rejection asked for). None for one not rejected: more of a kind are
    more pages of it."""
    if application["status"] != "rejected":
        return []
    rejections = [step["at"] for step in application.get("timeline", ())
                  if step["status"] == "rejected"]
    if not rejections:
        return []
    since = max(datetime.datetime.fromisoformat(at) for at in rejections)
    replaced = application.get("documents_replaced") or {}
    return [entry for entry in application.get("documents", ())
            if entry["kind"] == kind and entry["document_id"] not in replaced
            and entry["uploaded_at"] < since]


def admit(application: dict, checked: CheckedFile, limits: UploadLimits,
          replaced: list[dict] = ()) -> None:
    """Whether ``application`` takes one more document of this size, in
    place of ``replaced`` (``replaced_by_upload``)."""
    if application["status"] not in ACCEPTS_DOCUMENTS:
        raise DocumentsClosed(STATUSES[application["status"]].labels)
    if application.get("documents_count", 0) - len(replaced) >= limits.max_files:
        raise DocumentLimitReached(f"Maksimal {limits.max_files} dokumen per permohonan.",
                                   f"At most {limits.max_files} documents per application.")
    if application.get("documents_bytes", 0) - sum(entry["size"] for entry in replaced) \
            + checked.size > limits.max_total_bytes:
        raise DocumentLimitReached(
            f"Total dokumen per permohonan maksimal {limits.max_total_bytes} byte.",
            f"An application's documents may total at most {limits.max_total_bytes} bytes.")


def new_document(application_id: str, kind: str, checked: CheckedFile,
                 now: datetime.datetime) -> dict:
    """The listing entry of a new document (also its GridFS metadata)."""
    # in milliseconds, as BSON stores it: the first answer shows what a later read will
    uploaded_at = whole_milliseconds(now)
    entry = {"document_id": uuid.uuid4().hex, "application_id": application_id, "kind": kind,
             "content_type": checked.content_type, "size": checked.size,
             "sha256": checked.sha256, "uploaded_at": uploaded_at}
    if checked.width is not None:
        entry.update(width=checked.width, height=checked.height)
    return entry


def file_name(entry: dict) -> str:
    """The name a document is stored and downloaded under: the client's own
    file name is not kept (it is not trusted, and may carry a name or NIK)."""
    return f"{entry['kind']}-{entry['document_id'][:8]}.{EXTENSIONS[entry['content_type']]}"


def listing_view(entry: dict, lang: str, application: dict | None = None) -> dict:
    """One document as the API lists it: no content, no file name from the
    client; ``replaced_by``: the document uploaded in its place after a
    rejection (``replaced_by_upload``), else null."""
    view = {key: value for key, value in entry.items() if key != "application_id"}
    view["uploaded_at"] = entry["uploaded_at"].isoformat()
    view["kind_label"] = localize(DOCUMENT_KINDS[entry["kind"]].label, lang)
    view["replaced_by"] = replaced_by(application or {}, entry)
    return view


def listing(application: dict, lang: str) -> list[dict]:
    """An application's documents as the API lists them, in upload order."""
    return [listing_view(entry, lang, application) for entry in application.get("documents", [])]
