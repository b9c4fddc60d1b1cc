"""What the population register decides of an application, end to end
through intake's HTTP API and the register sandbox (outside review of the
civil-registration rules, a Disdukcapil officer's requests): the name a card
prints, who may arrive by a pindah datang, the father an Akta Kelahiran
names, a KIA for a child who moved out, and the adults a role needs."""

from __future__ import annotations

import datetime

import requests

from shared.clock import today_wib
from tests.document_bodies import body, kia_body, nik_born, years_before
from tests.e2e.test_documents import accepted, birth_of
from tests.helpers import OPERATOR, claim_job_for, random_kk


def seed(system, *members: tuple[str, str, str], kk: str | None = None,
         deceased: tuple[str, ...] = ()) -> str:
    """A family on the register sandbox: (nik, full name, relation) each,
    recorded for KTP-el; ``deceased``: the NIKs it records as dead."""
    kk = kk or random_kk()
    family = {"kk_number": kk, "kelurahan_code": f"{kk[:6]}1010", "members": [
        {"nik": nik, "full_name": name, "sex": "F" if int(nik[6:8]) > 40 else "M",
         "birth_date": birth_of(nik), "relation": relation, "ktp_el_recorded": True,
         "deceased": nik in deceased} for nik, name, relation in members]}
    response = requests.post(f"{system.url('register')}/sandbox/families", json=family, timeout=5)
    assert response.status_code == 201, response.text
    return kk


def printed_name(system, application: dict) -> str:
    """Verified; the name on its print job."""
    intake = system.url("intake")
    verified = requests.post(f"{intake}/api/v1/applications/{application['_id']}/verify",
                             headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    return claim_job_for(system.url("printing"), application["_id"])["holder_name"]


# --------------------------------------------------------------- 1. the name a card prints

def test_a_card_prints_the_registers_name_and_flags_the_one_typed(system, mongo):
    """The review's Bambang Hermawan: a KTP-el data_change typed "Warga Uji"
    printed "Warga Uji"; a KIA for Citra Lestari typed "Rudi Hartono" too.
    Both are accepted, flagged register_name_differs, and print the register's."""
    today = today_wib()
    father = nik_born(datetime.date(1980, 1, 1))
    mother = nik_born(datetime.date(1985, 3, 7), female=True)
    child = nik_born(years_before(today, 3), female=True)
    kk = seed(system, (father, "BAMBANG HERMAWAN", "kepala_keluarga"),
              (mother, "SRI WAHYUNI", "istri"), (child, "CITRA LESTARI", "anak"))

    ktp = accepted(system, mongo, body("ktp_el", {"reason": "data_change"}, nik=father, kk=kk,
                                       full_name="Warga Uji"))
    assert ktp["flags"] == ["register_name_differs"]
    assert ktp["derived"]["holder_full_name"] == "BAMBANG HERMAWAN"
    assert printed_name(system, ktp) == "BAMBANG HERMAWAN"

    kia = accepted(system, mongo, kia_body(child, parent_nik=mother, kk=kk,
                                           child_full_name="Rudi Hartono",
                                           documents=["akta_kelahiran", "kartu_keluarga",
                                                      "ktp_el"]))
    assert kia["flags"] == ["register_name_differs"]
    assert printed_name(system, kia) == "CITRA LESTARI"


def test_a_card_typed_as_the_register_names_its_holder_is_not_flagged(system, mongo):
    adult = nik_born(datetime.date(1979, 5, 2))
    kk = seed(system, (adult, "BAMBANG HERMAWAN", "kepala_keluarga"))
    ktp = accepted(system, mongo, body("ktp_el", {"reason": "damaged",
                                                  "old_card_surrendered": True},
                                       nik=adult, kk=kk, full_name=" Bambang  hermawan"))
    assert ktp["flags"] == []
    assert printed_name(system, ktp) == "BAMBANG HERMAWAN"
