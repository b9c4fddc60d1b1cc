"""HTTP entrypoints for supporting documents (mixed into ``IntakeApi``).

  POST /api/v1/applications/documents                         citizen (tracking code + NIK)
  GET  /api/v1/applications/<id>/documents                    operator or service: the listing
  GET  /api/v1/applications/<id>/documents/<document_id>      operator or service: the file

The upload is multipart/form-data (what a browser form or ``curl -F`` sends):
fields ``tracking_code``, ``nik``, ``kind`` and the file part ``file``. The
NIK stays out of the URL and the access log, as in the status lookup. The
body is read by ``shared.http`` before a worker starts, bounded by
``UPLOAD_MAX_BODY_BYTES`` and ``BODY_READ_SECONDS``.
"""

from __future__ import annotations

import io
import logging

from marshmallow import RAISE, ValidationError, fields, validate
from nameko.extensions import DependencyProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from shared.errors import Msg, ValidationFailed, flatten_field_errors
from shared.http import (api, body_problems, json_response, read_no_query, request_language,
                         unsupported_media_type)
from shared.settings import InvalidSetting, integer

from . import uploads
from .requirements import DOCUMENT_KINDS, required_photos
from .schemas import StatusLookupSchema

log = logging.getLogger(__name__)

REQUIRED = Msg("Wajib diisi.", "Missing data for required field.")
# ``file`` sent as a plain field, without a filename (``curl -F file=<kk.jpg``
# sends the content as text): it was sent, so not "required" (outside review)
NOT_A_FILE_PART = Msg(
    "Berkas harus dikirim sebagai bagian berkas dengan nama berkas (filename), "
    "mis. curl -F file=@kk.jpg.",
    "The file must be sent as a file part with a filename, e.g. curl -F file=@kk.jpg.")


class UploadFormSchema(StatusLookupSchema):
    """The upload's form fields: who (as in the status lookup) and what kind."""

    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(DOCUMENT_KINDS))


class UploadSettings(DependencyProvider):
    """The upload limits from config (``UPLOAD_*``), read once."""

    def setup(self):
        config, default = self.container.config, uploads.DEFAULT_LIMITS
        self.limits = uploads.UploadLimits(
            max_file_bytes=integer(config, "UPLOAD_MAX_FILE_BYTES", default.max_file_bytes),
            max_total_bytes=integer(config, "UPLOAD_MAX_TOTAL_BYTES", default.max_total_bytes),
            max_files=integer(config, "UPLOAD_MAX_FILES", default.max_files))
        body = integer(config, "UPLOAD_MAX_BODY_BYTES", uploads.DEFAULT_BODY_BYTES)
        if body <= self.limits.max_file_bytes:
            raise InvalidSetting("UPLOAD_MAX_BODY_BYTES", "must exceed UPLOAD_MAX_FILE_BYTES"
                                 " by the multipart envelope (e.g. 64 KiB more)")

    def get_dependency(self, worker_ctx):
        return self.limits


NOT_MULTIPART = Msg(
    "Isi permintaan bukan multipart/form-data yang dapat dibaca (boundary tidak ada atau salah, "
    "atau isinya terpotong).",
    "Request body is not readable multipart/form-data (no or wrong boundary, or cut short).")


def multipart(request):
    """The form fields and files of a multipart body: 415 naming
    ``Content-Type`` for a body of another type, 400 on ``_body`` for one
    that is no readable multipart (no body, no boundary or another one, cut
    short). werkzeug's ``request.form`` reads such a body as an empty form,
    which was reported as every field missing."""
    raw = request.get_data(cache=True)
    if raw and request.mimetype != "multipart/form-data":
        raise unsupported_media_type(request.mimetype, "multipart/form-data")
    if not raw:
        raise ValidationFailed({"_body": [NOT_MULTIPART]})
    parser = request.make_form_data_parser()
    parser.silent = False  # a malformed body raises, not reads as an empty form
    try:
        _, form, files = parser.parse(io.BytesIO(raw), request.mimetype, len(raw),
                                      request.mimetype_params)
    except RequestEntityTooLarge:  # the body is within its limit: too many parts
        raise ValidationFailed({"_body": [too_many_parts(parser.max_form_parts)]}) from None
    except ValueError:
        raise ValidationFailed({"_body": [NOT_MULTIPART]}) from None
    return form, files


def too_many_parts(most: int) -> Msg:
    """Werkzeug refuses a form of more than ``max_form_parts`` parts as too
    large - answered 413 "over N bytes" for a body far under them (outside
    audit S3): it is a 400 on ``_body`` saying what it is."""
    return Msg(f"Terlalu banyak bagian multipart: paling banyak {most} (unggahan memuat "
               "tracking_code, nik, kind dan satu file).",
               f"Too many multipart parts: at most {most} (an upload holds tracking_code, nik, "
               "kind and one file).")


def read_upload(request) -> tuple[dict, bytes]:
    """The loaded form fields and the file's bytes, or ValidationFailed."""
    form, files = multipart(request)
    form = {name: form.getlist(name) for name in form}
    file_as_text = form.pop("file", None)
    problems = {name: [Msg("Hanya boleh diisi sekali.", "May be given only once.")]
                for name, values in form.items() if len(values) > 1}
    form = {name: values[0] for name, values in form.items()}
    problems.update(body_problems(form))
    problems.update({name: [Msg("Kolom tidak dikenal.", "Unknown field.")]
                     for name in files if name != "file"})
    files = files.getlist("file")
    if file_as_text is not None:
        problems["file"] = [NOT_A_FILE_PART]
    elif not files:
        problems["file"] = [REQUIRED]
    elif len(files) > 1:
        problems["file"] = [Msg("Satu berkas per unggahan.", "One file per upload.")]
    try:
        loaded = UploadFormSchema().load(form)
    except ValidationError as exc:
        problems = {**flatten_field_errors(exc.messages), **problems}
    if problems:
        raise ValidationFailed(problems)
    return loaded, files[0].read()


class DocumentsApi:
    """Needs ``store`` (with ``DocumentStore``), ``document_readers``, ``citizen_checks``
    and ``upload_limits`` (``UploadSettings``) on the service."""

    @api("POST", "/api/v1/applications/documents", max_body_bytes=uploads.DEFAULT_BODY_BYTES,
         max_body_setting="UPLOAD_MAX_BODY_BYTES")
    def upload_document(self, request):
        """multipart/form-data: tracking_code=SDK7KQ2M9XA, nik=3673045207900001,
        kind=kartu_keluarga, file=@kk.jpg
        -> 201 {"application_id": "...", "tracking_code": "...", "document": {...},
                "documents": [...]}  (200 with the first entry for the same file again)"""
        form, content = read_upload(request)
        with self.citizen_checks.attempt(request, form["tracking_code"]):
            # the limits and the code + NIK before the file: a photo is
            # decoded in full, a few at once, and a made-up code must not
            # get that far (outside review: 2 MiB photos under a made-up
            # code were each decoded, then answered 404, then 429)
            self.store.find_for_citizen(form["tracking_code"], form["nik"])
            checked = uploads.check_file(content, self.upload_limits, form["kind"])
            application, entry, created = self.store.attach_document(
                form["tracking_code"], form["nik"], form["kind"], checked, self.upload_limits)
        if created:
            log.info("document %s (%s, %s, %d bytes) attached to application %s",
                     entry["document_id"], entry["kind"], entry["content_type"], entry["size"],
                     application["tracking_code"])
        lang = request_language(request)
        return json_response(201 if created else 200, {
            "application_id": application["_id"],
            "tracking_code": application["tracking_code"],
            "document": uploads.listing_view(entry, lang, application),
            "documents": uploads.listing(application, lang)})

    @api("GET", "/api/v1/applications/<string:application_id>/documents")
    def list_documents(self, request, application_id):
        """-> 200 {"documents": [{"document_id": "...", "kind": "kartu_keluarga", ...}],
        "photo_required": false}  (true: the card prints an uploaded photo, a KIA from age 5)"""
        self.document_readers.authenticate(request)
        read_no_query(request)
        lang = request_language(request)
        application = self.store.get(application_id)
        return json_response(200, {
            "documents": uploads.listing(application, lang),
            "photo_required": bool(required_photos(application))})

    @api("GET", "/api/v1/applications/<string:application_id>/documents/<string:document_id>")
    def download_document(self, request, application_id, document_id):
        """-> 200 the file as uploaded, with its detected Content-Type"""
        reader = self.document_readers.authenticate(request)
        read_no_query(request)
        entry, content = self.store.read_document(application_id, document_id)
        log.info("document %s of application %s viewed by %s", document_id, application_id,
                 reader)
        return Response(content, status=200, mimetype=entry["content_type"], headers={
            "Content-Disposition": f'attachment; filename="{uploads.file_name(entry)}"',
            # the browser must not guess another type, nor keep a copy
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        })
