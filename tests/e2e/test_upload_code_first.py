"""An upload's tracking code and NIK - and their limits of failed attempts -
are checked before its file, through the real intake service and database.

Outside review: a photo (``kind=foto``) was decoded in full, off the hub and
two at once, before the code was looked up, so a made-up code and any valid
NIK bought a full decode of a 2 MiB, 25-megapixel photo per request - 404,
and past the limit 429, only after it. The photo here is one that only the
decoder refuses (IHDR and IEND, no image data): an answer about the file
says it was decoded, a 404 or 429 that it was not."""

from __future__ import annotations

import uuid

from tests.documents import png
from tests.e2e import test_document_uploads
from tests.e2e.test_document_uploads import upload
from tests.helpers import random_nik

# the fixtures of the upload tests: a new application, what GridFS holds
application, stored = test_document_uploads.application, test_document_uploads.stored

PER_CODE = 5  # LOOKUP_FAILURES_PER_CODE in services/intake/config.yaml
UNREADABLE = png(4, 4, idat=False)


def test_a_made_up_code_is_answered_before_its_photo_is_decoded(system, stored):
    made_up = {"tracking_code": f"SDK{uuid.uuid4().hex[:8].upper()}", "nik": random_nik()}
    before = stored()
    for _ in range(PER_CODE):
        answer = upload(system, made_up, UNREADABLE, name="foto.png", kind="foto")
        assert answer.status_code == 404, answer.text
    locked = upload(system, made_up, UNREADABLE, name="foto.png", kind="foto")
    assert locked.status_code == 429, locked.text
    assert int(locked.headers["Retry-After"]) > 0
    assert stored() == before


def test_the_owner_is_still_told_what_is_wrong_with_the_photo(system, application, stored):
    before = stored()
    answer = upload(system, application, UNREADABLE, name="foto.png", kind="foto",
                    **{"Accept-Language": "en"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["fields"]["file"][0].startswith(
        "The photo cannot be read as an image")
    assert stored() == before


def test_a_wrong_nik_for_a_real_code_locks_the_code_before_any_decode(system, application):
    for _ in range(PER_CODE):
        assert upload(system, application, UNREADABLE, name="foto.png", kind="foto",
                      nik=random_nik()).status_code == 404
    # the owner too, right NIK or wrong, until the window ends: the file unread
    assert upload(system, application, UNREADABLE, name="foto.png",
                  kind="foto").status_code == 429
