"""What a printed document says about its subject: the lines rendered from a
job's ``document_details`` (as ``application_verified`` carried them), on
the page, and the holder a KIA is issued to."""

import datetime
from pathlib import Path

from services.printing import artefact, tokens, verification
from services.printing.domain import holder, new_job
from services.printing.printed_details import detail_lines
from tests.pdf_checks import pdf_qr_codes, pdf_text

KEY = tokens.generate("test")
NOW = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=datetime.timezone.utc)
PARENT, CHILD, DECEASED = "3673045207900001", "3673041505190002", "3673020101450001"
SKPWNI = {"move": "pindah_keluar", "move_kind": "antar_provinsi", "move_reason": "pekerjaan",
          "destination": {"street": "Jl. Tanah Abang II No. 5", "rt": "003", "rw": "007",
                          "postal_code": "10160", "kelurahan_code": "3171011001",
                          "kelurahan": "Gambir", "kecamatan": "Gambir",
                          "kabkota": "Kota Administrasi Jakarta Pusat",
                          "province": "Daerah Khusus Ibukota Jakarta"},
          "members_moving": 3, "members_named": ["Ahmad Fauzi"]}


def verified(document_type: str, **extra) -> dict:
    """An ``application_verified`` as printing loads it."""
    return {"event_id": "e1", "application_id": "app-1", "tracking_code": "SDK7KQ2M9XA",
            "document_type": document_type, "nik": PARENT, "full_name": "Siti Aminah",
            "contact": {"phone": "+6281234567890"}, "delivery_method": "pickup",
            "delivery_address": None, "verified_by": "op", **extra}


def printed(job: dict) -> str:
    number = verification.document_number(job["document_type"], 2026, 7)
    issuance = verification.new_issuance(job, "lease-1", number, KEY, NOW.date(), NOW)
    content = artefact.render(verification.printed_document(job, issuance))
    assert pdf_qr_codes(content) == [issuance["token"]]
    return " ".join(pdf_text(content).split())


def test_a_birth_certificate_shows_the_child_the_birth_and_both_parents():
    job, _ = new_job(verified("akta_kelahiran", holder_name="Nur Aini", holder_nik=None,
                              document_details={
                                  "sex": "F", "birth_date": "2026-10-01",
                                  "birth_place_code": "3673", "birth_place": "Kota Serang",
                                  "mother_name": "Siti Aminah", "father_name": "Ahmad Fauzi"}),
                     NOW)
    text = printed(job)
    assert ("Menerangkan bahwa telah lahir: Nama Anak : Nur Aini Jenis Kelamin : Perempuan "
            "Tempat Lahir : Kota Serang Tanggal Lahir : 1 Oktober 2026 "
            "Anak dari Ibu : Siti Aminah dan Ayah : Ahmad Fauzi") in text


def test_a_birth_certificate_of_a_mother_alone_names_her():
    assert detail_lines({"sex": "F", "mother_name": "Siti Aminah"}) == {
        "Jenis Kelamin": "Perempuan", "Anak dari Ibu": "Siti Aminah"}


def test_a_death_certificate_names_the_deceased_and_the_deceaseds_nik():
    job, _ = new_job(verified("akta_kematian", holder_name="Sarmili", holder_nik=None,
                              document_details={
                                  "deceased_nik": DECEASED, "date_of_death": "2026-11-02",
                                  "reporter_relation": "anak",
                                  "place_of_death": "RSUD dr. Dradjat Prawiranegara, Kota Serang"
                                  }), NOW)
    assert holder(job) == ("Sarmili", None)
    text = printed(job)
    assert ("Menerangkan bahwa telah meninggal dunia: Nama : Sarmili "
            f"NIK : {DECEASED} Tanggal Kematian : 2 November 2026 "
            "Tempat Kematian : RSUD dr. Dradjat Prawiranegara, Kota Serang "
            "Hubungan Pelapor : Anak") in text
    assert "Siti Aminah" not in text and "Pemohon" not in text  # the reporting applicant


def test_a_birth_certificate_from_an_older_event_shows_the_applying_parent():
    job, _ = new_job(verified("akta_kelahiran", holder_name="Nur Aini", holder_nik=None,
                              document_details={
                                  "sex": "F", "birth_date": "2026-10-01",
                                  "birth_place_code": "3673", "birth_place": "Kota Serang",
                                  "father_name": "Ahmad Fauzi"}), NOW)
    text = printed(job)
    for line in ("Nama Anak : Nur Aini", "Jenis Kelamin : Perempuan",
                 "Tempat Lahir : Kota Serang", "Tanggal Lahir : 1 Oktober 2026",
                 "Nama Ayah : Ahmad Fauzi"):
        assert line in text, line
    assert "3673 " not in text and "Nama Ibu" not in text and PARENT not in text


def test_a_death_certificate_from_an_older_event_names_its_applicant_as_such():
    job, _ = new_job(verified("akta_kematian", holder_name="Siti Aminah", holder_nik=None,
                              document_details={
                                  "date_of_death": "2026-11-02", "reporter_relation": "orang_tua",
                                  "place_of_death": "RSUD dr. Dradjat Prawiranegara, Kota Serang"
                                  }), NOW)
    text = printed(job)
    for line in ("Nama Pemohon : Siti Aminah", "Tanggal Kematian : 2 November 2026",
                 "Tempat Kematian : RSUD dr. Dradjat Prawiranegara, Kota Serang",
                 "Hubungan Pelapor : Orang tua"):
        assert line in text, line
    assert "meninggal dunia" not in text  # it does not say she died


def test_an_skpwni_shows_the_destination_by_name_and_who_moves():
    assert detail_lines(SKPWNI) == {
        "Jenis Kepindahan": "Pindah keluar", "Klasifikasi": "Antar provinsi",
        "Alasan Pindah": "Pekerjaan",
        "Alamat Tujuan": "Jl. Tanah Abang II No. 5 RT/RW 003/007",
        "Kelurahan/Desa": "Gambir", "Kecamatan": "Gambir",
        "Kabupaten/Kota": "Kota Administrasi Jakarta Pusat",
        "Provinsi": "Daerah Khusus Ibukota Jakarta", "Kode Pos": "10160",
        "Anggota yang Pindah": "3 orang: Ahmad Fauzi dan 2 orang lainnya"}
    job, _ = new_job(verified("skpwni", holder_name="Ahmad Fauzi", holder_nik=None,
                              document_details=SKPWNI), NOW)
    text = printed(job)
    assert "Kabupaten/Kota : Kota Administrasi Jakarta Pusat" in text
    assert "3171011001" not in text  # the names, not the code


def test_a_long_value_wraps_and_stays_on_the_page():
    long_street = "Jl. " + " ".join(["Panjang Sekali"] * 12)
    details = {**SKPWNI, "destination": {**SKPWNI["destination"], "street": long_street}}
    job, _ = new_job(verified("skpwni", document_details=details), NOW)
    text = printed(job)
    assert text.count("Panjang Sekali") == 12 and "Provinsi" in text


def test_a_kia_is_issued_to_the_child_with_the_childs_nik():
    job, _ = new_job(verified("kia", holder_name="Rizki Ramadhan", holder_nik=CHILD,
                              document_details={"sex": "M", "birth_date": "2019-05-15",
                                                "birth_certificate_number": "3673-LU-0002"}),
                     NOW)
    assert holder(job) == ("Rizki Ramadhan", CHILD)
    assert job["full_name"] == "Siti Aminah"  # the parent: whom the Dinas tells
    number = verification.document_number("kia", 2026, 7)
    issuance = verification.new_issuance(job, "lease-1", number, KEY, NOW.date(), NOW)
    assert issuance["claims"]["holder_name"] == "Rizki Ramadhan"
    assert issuance["holder_nik"] == CHILD
    text = printed(job)
    assert CHILD in text and PARENT not in text and "Siti Aminah" not in text
    assert "Tanggal Lahir : 15 Mei 2019" in text and "No. Akta Lahir : 3673-LU-0002" in text


def test_a_job_from_an_older_event_prints_the_applicant_as_before():
    job, _ = new_job(verified("ktp_el"), NOW)
    assert holder(job) == ("Siti Aminah", PARENT)
    assert detail_lines(job["document_details"]) == {}
    certificate, _ = new_job(verified("akta_kelahiran"), NOW)
    assert holder(certificate) == ("Siti Aminah", None)


# how docs/station-api.md's table "What each prints" names each line a
# document prints, by its label (either of a pair)
NAMED_IN_DOCS = {"Jenis Kelamin": "sex", "Tanggal Lahir": ("birth date", "date of birth"),
                 "Tempat Lahir": "place and date of birth", "No. Akta Lahir": "birth certificate",
                 "NIK": "NIK", "Tanggal Kematian": "date and place of death",
                 "Tempat Kematian": "place of death", "Hubungan Pelapor": "relation",
                 "Anak dari Ibu": "*Anak dari Ibu*", "dan Ayah": "*dan Ayah*",
                 "Jenis Kepindahan": "kind", "Klasifikasi": "class of move",
                 "Alasan Pindah": "reason", "No. SKPWNI Asal": "origin's SKPWNI number",
                 "Alamat Tujuan": "destination address", "Kode Pos": "postal code",
                 **dict.fromkeys(("Kelurahan/Desa", "Kecamatan", "Kabupaten/Kota", "Provinsi"),
                                 "by area name"),
                 "Anggota yang Pindah": "members who move"}
EVERY_DETAIL = {
    "KTP-el": {"sex": "F", "birth_date": "1990-09-15"},
    "KIA": {"sex": "F", "birth_date": "2019-09-15", "birth_certificate_number": "3673-LU-1"},
    "Akta Kelahiran": {"sex": "F", "birth_date": "2026-09-15", "birth_place": "Kota Serang",
                       "mother_name": "Siti", "father_name": "Budi"},
    "Akta Kematian": {"deceased_nik": DECEASED, "date_of_death": "2026-09-15",
                      "place_of_death": "RSUD", "reporter_relation": "anak"},
    "SKPWNI": {**SKPWNI, "move": "pindah_datang", "skpwni_number": "3171-SKPWNI-1"},
}


def always_tuple(named) -> tuple:
    return named if isinstance(named, tuple) else (named,)


def test_the_docs_table_names_every_line_a_document_prints():
    """Outside audit hK: an SKPWNI pindah datang prints the origin's SKPWNI
    number and every SKPWNI the postal code, which the table left out."""
    text = (Path(__file__).parents[2] / "docs" / "station-api.md").read_text()
    table = text.split("What each prints")[1].split("\n\n")[1]
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()[2:]}
    for document, details in EVERY_DETAIL.items():
        missing = [label for label in detail_lines(details) if not any(
            named in rows[document] for named in always_tuple(NAMED_IN_DOCS[label]))]
        assert missing == [], document
