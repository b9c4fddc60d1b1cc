"""Example request bodies of the intake API, one per document type, shown in
the OpenAPI document (``openapi``) on ``POST /api/v1/applications``.

Each is a complete, valid application: the end-to-end tests post every one
and expect 202 (tests/e2e/test_openapi.py). Their people are not in the
register sandbox's fixture families (the register answers "unknown": the
application is accepted and flagged for the operator's check), so posting an
example never collides with a fixture person another test uses - and the
names a certificate prints of them (the mother, the deceased) are given.

The birth and the death are dated from the day the examples are shown (a
fixed date would, after 60 days, make the birth a late registration, flagged
for the operator); the people's NIKs stay valid for years (the KIA child
turns 17 in 2036).
"""

from __future__ import annotations

import datetime

BORN_DAYS_AGO, DIED_DAYS_AGO = 10, 5


def submit_examples(today: datetime.date) -> dict[str, dict]:
    """document type -> its example body, dated from ``today``."""
    born = (today - datetime.timedelta(days=BORN_DAYS_AGO)).isoformat()
    died = (today - datetime.timedelta(days=DIED_DAYS_AGO)).isoformat()
    return {
        "ktp_el": {
            "document_type": "ktp_el", "channel": "web",
            "applicant": {"nik": "3673041708950731", "kk_number": "3673041405150731",
                          "full_name": "Dimas Prasetyo", "phone": "081234567801",
                          "preferred_channel": "sms"},
            "details": {"reason": "first_issue"},
            "delivery": {"method": "pickup"}},
        "akta_kelahiran": {
            "document_type": "akta_kelahiran", "channel": "web",
            "applicant": {"nik": "3673042303900732", "kk_number": "3673042201180732",
                          "full_name": "Andi Wijaya", "phone": "081234567802",
                          "marital_status": "kawin"},
            "details": {"child": {"full_name": "Nur Aini", "sex": "F", "birth_date": born,
                                  "birth_place_code": "3673"},
                        "mother_nik": "3673046105920732", "mother_full_name": "Sri Wahyuni",
                        "parents_married": True,
                        "father_nik": "3673042303900732", "kk_number": "3673042201180732",
                        "documents": ["surat_keterangan_lahir", "buku_nikah", "kartu_keluarga"]}},
        "akta_kematian": {
            "document_type": "akta_kematian", "channel": "web",
            "applicant": {"nik": "3673041102800733", "kk_number": "3673040903100733",
                          "full_name": "Hendra Gunawan", "phone": "081234567803"},
            "details": {"deceased_nik": "3673040505450733", "deceased_full_name": "Sukarman",
                        "date_of_death": died,
                        "place_of_death": "RSUD dr. Dradjat Prawiranegara, Kota Serang",
                        "reporter_nik": "3673041102800733", "reporter_relation": "anak",
                        "documents": ["surat_kematian", "kartu_keluarga"]}},
        "skpwni": {
            "document_type": "skpwni", "channel": "web",
            "applicant": {"nik": "3673041210850734", "kk_number": "3673041806120734",
                          "full_name": "Rina Marlina", "email": "rina.marlina@example.com"},
            "details": {"move": "pindah_keluar",
                        "destination": {"street": "Jl. Tanah Abang II No. 5",
                                        "kelurahan_code": "3171011001", "postal_code": "10160"},
                        "reason": "pekerjaan", "members": ["3673041210850734"],
                        "documents": ["kartu_keluarga"]}},
        "kia": {
            "document_type": "kia", "channel": "app",
            "applicant": {"nik": "3673045508880735", "kk_number": "3673040710160735",
                          "full_name": "Lestari Handayani", "phone": "081234567805"},
            "details": {"child_nik": "3673041203190735", "child_full_name": "Rizki Ramadhan",
                        "birth_certificate_number": "3673-LU-12032019-0735",
                        "parent_nik": "3673045508880735", "kk_number": "3673040710160735",
                        "documents": ["akta_kelahiran", "kartu_keluarga", "ktp_el", "foto"]},
            "delivery": {"method": "pos",
                         "address": {"street": "Jl. Raya Curug No. 40", "rt": "002", "rw": "001",
                                     "kelurahan_code": "3673041010", "postal_code": "42171"}}},
    }
