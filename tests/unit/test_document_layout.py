"""Every value a document prints is there in full, on the page, clear of the
photo, the QR and every other line - for the longest values intake takes,
in the widest letters the font prints (outside audit: a 62-character name
ran over the KTP-el's photo box and off the card's edge). Positions are
read from the PDF, where PDFium places the glyphs."""

import datetime

import pytest
from marshmallow import validate

from services.intake.detail_schemas import (AktaKematianDetailsSchema, KiaDetailsSchema,
                                            SkpwniDetailsSchema)
from services.intake.schemas import AddressSchema, ApplicantSchema
from services.printing import artefact
from services.printing.api_documents import fitting
from services.printing.artefact import CARD_PHOTO, CARD_QR, CARD_SIZE, PrintedDocument
from services.printing.printed_details import detail_lines, holder_label, statement
from shared.printable import as_printed
from tests.documents import photo
from tests.pdf_checks import layout_problems, pdf_image_boxes, pdf_text, pdf_text_boxes

# the widest a character of a name prints: Ǳ (one character, in NFC) prints as "DZ"
WIDEST = "\u01f1"
WIDEST_CODE = "W"  # of [0-9A-Za-z./-], the document numbers' characters
AUDIT_NAME = "Raden Roro Ayu Kusumawardhani Sekar Ningrum Putri Kencana Wungu"
# the longest names in shared/wilayah's region list, by level
LONGEST_AREA = {"kelurahan": "Kampuang Tanjuang Koto Mambang Sungai Durian",
                "kecamatan": "Buay Pematang Ribu Ranau Tengah",
                "kabkota": "Kabupaten Administrasi Kepulauan Seribu",
                "province": "Daerah Khusus Ibukota Jakarta"}
PHOTO_LABEL = "FOTO dari register nasional"  # the one text inside the KTP-el's photo box


def longest(schema, name: str) -> int:
    """The most characters intake takes for ``name`` of ``schema``."""
    field = schema().fields[name]
    return next(rule.max for rule in field.validators if isinstance(rule, validate.Length))


def widest(schema, name: str, letter: str = WIDEST) -> str:
    return letter * longest(schema, name)


NAME = widest(ApplicantSchema, "full_name")


def document(document_type: str, holder_name: str, details: dict, **extra) -> PrintedDocument:
    return PrintedDocument(document_type, "3673-KIA-2026-0000012", holder_name,
                           datetime.date(2026, 12, 1), "SDK1.token", details=details, **extra)


def box(x: float, y: float, width: float, height: float) -> tuple:
    return (x, y, x + width, y + height)


def laid_out(content: bytes, values: list[str], page: tuple, clear: dict) -> list[str]:
    return layout_problems(content, [as_printed(value) for value in values], page, clear,
                           within=(PHOTO_LABEL,))


def card_clear() -> dict:
    return {"photo": box(*CARD_PHOTO), "QR": box(*CARD_QR[:2], CARD_QR[2], CARD_QR[2])}


KTP_DETAILS = detail_lines({"sex": "F", "birth_date": "1990-09-15"})
KIA_DETAILS = detail_lines({"sex": "F", "birth_date": "2019-09-15",
                            "birth_certificate_number": widest(
                                KiaDetailsSchema, "birth_certificate_number", WIDEST_CODE)})


@pytest.mark.parametrize("name", [AUDIT_NAME, NAME, "Siti Aminah"])
def test_a_ktp_el_prints_the_whole_name_left_of_the_photo(name):
    content = artefact.render(document("ktp_el", name, KTP_DETAILS, nik="3673045507900001"))
    assert laid_out(content, [name, *KTP_DETAILS.values()], box(0, 0, *CARD_SIZE),
                    card_clear()) == []
    # a name with spaces wraps between its words
    assert " " not in name or name in " ".join(pdf_text(content).split())


@pytest.mark.parametrize("name", [AUDIT_NAME, widest(KiaDetailsSchema, "child_full_name")])
def test_a_kia_prints_the_longest_values_left_of_the_childs_photo(name):
    content = artefact.render(document("kia", name, KIA_DETAILS, nik="3673045509190001",
                                       photo=photo(300, 400)))
    assert pdf_image_boxes(content) == [pytest.approx(box(*CARD_PHOTO), abs=0.01)]
    assert laid_out(content, [name, *KIA_DETAILS.values()], box(0, 0, *CARD_SIZE),
                    card_clear()) == []


def test_a_short_card_keeps_its_size():
    content = artefact.render(document("ktp_el", "Siti Aminah", KTP_DETAILS,
                                       nik="3673045507900001"))
    [name] = [where for run, where in pdf_text_boxes(content) if run == "Siti Aminah"]
    assert 1.3 < name[3] - name[1] < 1.6  # 5.5 pt, one line


CERTIFICATES = {
    "akta_kelahiran": {"sex": "F", "birth_date": "2026-09-15",
                       "birth_place": LONGEST_AREA["kabkota"],
                       "mother_name": NAME, "father_name": NAME},
    "akta_kematian": {"deceased_nik": "3673020101450001", "date_of_death": "2026-09-15",
                      "reporter_relation": "orang_tua",
                      "place_of_death": widest(AktaKematianDetailsSchema, "place_of_death")},
    "skpwni": {"move": "pindah_keluar", "move_kind": "antar_kabkota", "move_reason": "pendidikan",
               "skpwni_number": widest(SkpwniDetailsSchema, "skpwni_number", WIDEST_CODE),
               "destination": {"street": widest(AddressSchema, "street"), "rt": "001",
                               "rw": "002", "postal_code": "42111", **LONGEST_AREA},
               "members_moving": 30, "members_named": [NAME]},
}


@pytest.mark.parametrize("document_type", CERTIFICATES)
def test_a_certificate_prints_the_longest_values_above_its_signature(document_type):
    details = detail_lines(CERTIFICATES[document_type])
    opening = statement(document_type, CERTIFICATES[document_type])
    content = artefact.render(document(
        document_type, NAME, details, statement=opening,
        holder_label=holder_label(document_type, CERTIFICATES[document_type])))
    # the page less its 25 mm margins; the signature and the QR are runs of
    # text and a square that no line may reach
    assert laid_out(content, [NAME, *details.values(), *filter(None, [opening])],
                    (25, 15, 185, 282), {"QR": box(25, 235, 38, 38)}) == []


def test_an_skpwni_names_as_many_moving_members_as_fit_and_counts_the_rest():
    """(Outside audit) 30 members named by the register with the longest
    names did not fit on the page: every download was a 500, the job never
    held. As many as fit are named now, the rest counted."""
    details = {**CERTIFICATES["skpwni"], "members_moving": 30,
               "members_named": [" ".join(f"{AUDIT_NAME} {AUDIT_NAME[:50]} {index:02d}".split())
                                 for index in range(30)]}  # ~116 characters each

    def rendered(named_at_most):
        return artefact.render(document("skpwni", NAME, detail_lines(details, named_at_most),
                                        holder_label=holder_label("skpwni", details)))
    with pytest.raises(artefact.DoesNotFit):
        rendered(None)
    content = fitting(rendered, details)
    assert content == fitting(rendered, details)  # a download again: the same bytes
    text = " ".join(pdf_text(content).split())
    named = [name for name in details["members_named"] if as_printed(name) in text]
    assert 0 < len(named) < 30 and named == details["members_named"][:len(named)]
    assert f"dan {30 - len(named)} orang lainnya" in text
    assert laid_out(content, list(detail_lines(details, len(named)).values()),
                    (25, 15, 185, 282), {"QR": box(25, 235, 38, 38)}) == []
    with pytest.raises(artefact.DoesNotFit):  # one more name would not fit
        rendered(len(named) + 1)
