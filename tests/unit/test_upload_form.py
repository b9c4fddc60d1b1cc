"""The upload's multipart form as ``read_upload`` reads it (werkzeug's own
parser, no server): a ``file`` sent as a plain field - without a file name,
as ``curl -F file=<kk.jpg`` sends it - is answered for what it is, not as
"required" (outside review: the unknown-field error was overwritten by
``Wajib diisi.``)."""

from __future__ import annotations

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.intake.api_documents import read_upload
from shared.errors import ValidationFailed
from tests.documents import png

FIELDS = {"tracking_code": (None, "SDK7KQ2M9XA"), "nik": (None, "3673045207900001"),
          "kind": (None, "foto")}


def request_of(parts: dict) -> Request:
    prepared = requests.Request("POST", "http://intake/api/v1/applications/documents",
                                files=parts).prepare()
    return Request(EnvironBuilder(method="POST", data=prepared.body, headers={
        "Content-Type": prepared.headers["Content-Type"]}).get_environ())


def refusal(parts: dict) -> dict:
    with pytest.raises(ValidationFailed) as refused:
        read_upload(request_of(parts))
    return refused.value.fields


def test_a_file_sent_as_a_plain_field_is_told_to_come_as_a_file_part():
    fields = refusal({**FIELDS, "file": (None, png())})
    assert list(fields) == ["file"]
    [message] = fields["file"]
    assert message == ("Berkas harus dikirim sebagai bagian berkas dengan nama berkas "
                       "(filename), mis. curl -F file=@kk.jpg.")
    assert message.en == ("The file must be sent as a file part with a filename, "
                          "e.g. curl -F file=@kk.jpg.")


def test_no_file_at_all_is_still_required_and_a_file_part_is_read():
    assert [str(m) for m in refusal(FIELDS)["file"]] == ["Wajib diisi."]
    form, content = read_upload(request_of({**FIELDS, "file": ("foto.png", png(), "image/png")}))
    assert (form["kind"], content) == ("foto", png())
