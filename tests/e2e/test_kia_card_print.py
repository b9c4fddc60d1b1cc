"""A KIA through the whole stack, as the outside audit sent it: a photo cut
in half with its end marker put back is refused at upload (it printed half
grey); a phone's portrait photo is stored as uploaded and printed upright
(it printed sideways); a long name prints whole, beside the photo (it ran
over the photo and off the card)."""

from __future__ import annotations

import requests

from services.printing.artefact import CARD_PHOTO, CARD_SIZE
from shared.clock import today_wib
from tests.document_bodies import kia_body, nik_born, years_before
from tests.documents import BOTTOM, TOP, photo
from tests.e2e.test_kia_photo import download, send_photo, submit, upload_photo, verify
from tests.helpers import OPERATOR, claim_job_for
from tests.pdf_checks import layout_problems, pdf_colour_at, pdf_image_boxes

NAME = "Raden Roro Ayu Kusumawardhani Sekar Ningrum Putri Kencana Wungu"


def test_a_kia_refuses_a_cut_photo_and_prints_a_phone_portrait_upright_beside_a_long_name(
        system, mongo):
    body = kia_body(nik_born(years_before(today_wib(), 7)), child_full_name=NAME)
    application = submit(system, body)
    whole = photo(600, 800)
    refused = send_photo(system, application, body, whole[:len(whole) // 2] + b"\xff\xd9")
    assert refused.status_code == 400, refused.text
    assert list(refused.json()["error"]["fields"]) == ["file"]
    assert mongo["intake"].applications.find_one(
        {"_id": application["application_id"]}).get("documents", []) == []

    portrait = photo(600, 800, orientation=6)  # stored 800 x 600, as a phone saves it
    document = upload_photo(system, application, body, portrait)
    kept = requests.get(f"{system.url('intake')}/api/v1/applications/"
                        f"{application['application_id']}/documents/{document['document_id']}",
                        headers=OPERATOR, timeout=10)
    assert kept.status_code == 200 and kept.content == portrait
    assert verify(system, application).status_code == 200
    printed = download(system, claim_job_for(system.url("printing"),
                                             application["application_id"]))
    assert printed.status_code == 200, printed.text

    x, y, width, height = CARD_PHOTO
    photo_box = (x, y, x + width, y + height)
    assert [tuple(round(edge, 1) for edge in image) for image in pdf_image_boxes(
        printed.content)] == [tuple(round(edge, 1) for edge in photo_box)]
    for at, colour in ((y + height / 8, TOP), (y + height * 7 / 8, BOTTOM)):
        assert all(abs(a - b) < 60 for a, b in zip(
            pdf_colour_at(printed.content, x + width / 2, at), colour))
    assert layout_problems(printed.content, [NAME], (0, 0, *CARD_SIZE),
                           {"photo": photo_box}) == []
