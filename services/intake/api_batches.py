"""HTTP: the officers' channels (tokens scoped to a kelurahan or a kecamatan).

  PUT  /api/v1/jemput-bola/batches/<batch_id>   kelurahan officer: a batch, JSON or CSV -> 200
  GET  /api/v1/jemput-bola/batches/<batch_id>   kelurahan officer: its reply again (or,
                                                 still being stored, its rows stored so far)
  GET  /api/v1/jemput-bola/batches/<batch_id>/applications   kelurahan officer: where each stands
  POST /api/v1/kecamatan/next-day-requests      kecamatan officer: a next-day KTP-el -> 202

A mixin of ``IntakeApi`` (which supplies ``store``, ``screening()``,
``kelurahan_officers`` and ``kecamatan_officers``). A batch is stored
within its request, in one worker: every row is checked first (a few at once,
as their register questions overlap), then each accepted row is stored
through the store's ``submit``, its own application + event in one
transaction, in row order, for at most ``batches.STORING_SECONDS``; a batch
its request left (intake killed mid-batch) is finished with the rows it
stored, by a timer or when the officer asks for it (``finish_cut_short``).
No HTTP round trip per row: a 500-row CSV took
17-18 s on this 2-core machine under moderate load, most of it the
database's commits (docs/api.md).
"""

from __future__ import annotations

import logging
from eventlet import GreenPool
from marshmallow import INCLUDE, RAISE, Schema, fields

from shared.clock import today_wib, utcnow
from shared.errors import DomainError, Msg, NotFound, ValidationFailed, localize
from shared.http import (api, body_problems, check_charset, idempotency_key, json_response,
                         read_json, read_no_query, request_language, unsupported_media_type)
from shared.masking import mask_identity
from shared.offices import DINAS

from . import batches
from .exceptions import ActiveApplicationExists
from .screening import Screening
from .subjects import subjects
from .views import batch_member_view

log = logging.getLogger(__name__)

CHECKS_AT_ONCE = 8

class BatchNotFound(NotFound):
    def __init__(self):
        super().__init__(Msg("Batch tidak ditemukan (atau belum selesai disimpan).",
                             "Batch not found (or not yet stored in full)."))


class BatchSchema(Schema):
    class Meta:
        unknown = RAISE

    # a row that is no object - null as much as 1 or "a" - is refused on its
    # own (``_row``), the batch's other rows taken
    applications = fields.List(fields.Raw(allow_none=True), required=True)


class AnyObject(Schema):
    """A next-day request's body as sent: ``batches.check_next_day`` loads it
    like a submission, with messages of its own (``openapi.NextDayRequestSchema``
    describes it)."""
    class Meta:
        unknown = INCLUDE


def batch_rows(request) -> list[batches.Row]:
    if request.mimetype == "text/csv":
        # read as UTF-8: one declared in another charset (iso-8859-1, utf-16)
        # was read so, garbled or refused as "not UTF-8" (outside audit S3);
        # US-ASCII is UTF-8's first 128 characters
        check_charset(request.mimetype, request.mimetype_params, ("utf-8", "us-ascii"))
        rows = batches.csv_rows(request.get_data(cache=True))
        for row in rows:  # what read_json refuses in a JSON body, a CSV row is refused for
            if row.body is not None and (problems := body_problems(row.body)):
                row.problems = {**row.problems, **problems}
        return rows
    if request.mimetype == "application/json":
        applications = read_json(request, BatchSchema())["applications"]
        if not 1 <= len(applications) <= batches.MAX_ROWS:
            raise ValidationFailed({"applications": [batches.TOO_MANY_ROWS if applications else
                                                     Msg("Minimal satu permohonan.",
                                                         "At least one application.")]})
        return batches.json_rows(applications)
    raise unsupported_media_type(request.mimetype, "application/json", "text/csv")


def store_batch(store, officer, batch_id: str, rows: list[batches.Row],
                screening: Screening, resumed: bool = False) -> dict:
    """Check every row, then store the good ones under one manifest; the reply.
    ``resumed``: a batch cut short, sent again - the rows it stored are taken
    as they are, not checked again (a row verified and printed since was
    refused for its own application's card, card_already_issued; a birth
    verified since, birth_already_registered)."""
    today, checked, rejected = today_wib(), [], []
    earlier = store.stored_rows(batches.batch_key(officer, batch_id), len(rows)) \
        if resumed else {}

    def check(row: batches.Row):
        try:
            return row, batches.check_batch_row(row, officer.scope, today, screening), None
        except DomainError as exc:
            if exc.status >= 500:  # the database, not the row
                raise
            return row, None, exc

    # rows are checked a few at once, so their questions to the register overlap;
    # they are stored one after the other, in order (the first of two rows for
    # the same subject is the one accepted)
    for row, result, refusal in GreenPool(CHECKS_AT_ONCE).imap(
            check, [row for row in rows if row.number not in earlier]):
        if refusal is None:
            checked.append((row, result))
        else:
            rejected.append(rejected_row(row, refusal))
    batch = store.start_batch(batches.new_batch(officer, batch_id, rows, today))
    batches.same_rows(batch, rows)  # a batch cut short goes on with its own rows only
    applications = [(row, batches.batch_application(result, officer, batch, row))
                    for row, result in checked]
    # none begun past the batch's storing time: a batch left processing longer
    # is its request's no more (``finish_abandoned``)
    stored, refused, untried = store.submit_rows(applications, batches.storing_until(batch))
    stored += [(row, earlier[row.number]) for row in rows if row.number in earlier]
    accepted = [accepted_row(row, application) for row, application in stored]
    # by each subject: an SKPWNI names several (a list, once a dict key: 500)
    rows_of = {subject: row.number for row, application in stored
               for subject in subjects(application["subject_key"])}
    made = {row.number: application for row, application in applications}
    rejected += [rejected_row(row, held_by(store, officer, exc, made[row.number], rows_of))
                 for row, exc in refused]
    rejected += [rejected_row(row, batches.NotStored()) for row in untried]
    reply = batch_reply(batch, accepted, rejected)
    log.info("jemput-bola batch %s (manifest %s): %d accepted, %d rejected", batch["_id"],
             batch["manifest_id"], len(accepted), len(rejected))
    return store.finish_batch(batch, reply, [row["application_id"] for row in accepted])


def finish_abandoned(store) -> int:
    """Finish every batch its request left processing for good (a timer's,
    cheap: one indexed read when there is none); how many."""
    left = store.processing_batches(utcnow() - batches.abandoned_after(store.operation_timeout))
    for batch in left:
        finish_cut_short(store, batch)
    return len(left)


def settled(store, batch: dict | None) -> dict | None:
    """``batch`` (as read), finished now if its request left it processing for good."""
    if batches.abandoned(batch, utcnow(), store.operation_timeout):
        return {**batch, "status": "done", "reply": finish_cut_short(store, batch)}
    return batch


def finish_cut_short(store, batch: dict) -> dict:
    """A batch its request left processing (intake killed mid-batch) finished
    with the rows it stored: the reply kept, the rows not stored listed as
    such (``NotStored``: send them under a new batch id), ``batch_accepted``
    for the stored ones - without which printing never hands them over. A
    timer does it past ``batches.abandoned_after``, and so does the officer's
    GET or PUT of the batch id (outside review: they stayed processing for
    good, 404 to the officer)."""
    stored, rows = store.stored_rows(batch["_id"], batch["rows"]), batches.rows_known(batch)
    reply = batch_reply(batch, [accepted_row(row, stored[row.number])
                                for row in rows if row.number in stored],
                        [rejected_row(row, batches.NotStored())
                         for row in rows if row.number not in stored])
    log.warning("jemput-bola batch %s (manifest %s) left processing by its request: finished "
                "with the %d rows it stored of %d", batch["_id"], batch["manifest_id"],
                len(stored), batch["rows"])
    return store.finish_batch(batch, reply, [row["application_id"] for row in reply["accepted"]])


def batch_as_it_stands(store, batch_key: str) -> tuple[dict, str] | None:
    """(the reply, ``status``) of the officer's batch: a finished batch's
    reply (``done``); a batch left processing for good finished now; one
    still being stored, the rows stored so far (``processing``: none
    refused yet, those are known at its end); None for no such batch."""
    batch = settled(store, store.batch(batch_key))
    if batch is None:
        return None
    if batch["status"] == "done":
        return batch["reply"], "done"
    stored = store.stored_rows(batch_key, batch["rows"])
    return batch_reply(batch, [accepted_row(row, stored[row.number])
                               for row in batches.rows_known(batch) if row.number in stored],
                       []), "processing"


class OfficerChannelsApi:
    # a 1,000-row CSV is far larger than one application: its own body limit
    @api("PUT", "/api/v1/jemput-bola/batches/<string:batch_id>",
         max_body_setting="MAX_BATCH_BODY_BYTES", new_work=True)
    def put_batch(self, request, batch_id):
        """{"applications": [{"document_type": "ktp_el", "applicant": {...}, "details": {...},
                              "address": {"street": "...", "rt": "003", "rw": "005",
                                          "kelurahan_code": "3673041010"}}, ...]}
        or text/csv with dotted column names (see docs/api.md)
        -> 200 {"batch_id", "manifest_id" (null: no row accepted), "kelurahan_code", "rows",
                "accepted": [{"row", "application_id", "tracking_code"}], "rejected": [{"row",
                "code", "field", "reason", "fields"}], "accepted_count", "rejected_count"}
        The same batch id again with the same rows: the first reply, nothing new
        stored (or the rest of a batch cut short); with other rows: 409
        ``batch_id_reused``."""
        officer = self.kelurahan_officers.authenticate(request)
        batch_key = batches.batch_key(officer, batches.check_batch_id(batch_id))
        rows = batch_rows(request)
        batch = settled(self.store, self.store.batch(batch_key))
        if batch is not None:  # its own rows only, before any is checked
            batches.same_rows(batch, rows)
        if batch is None or batch["status"] != "done":
            reply = store_batch(self.store, officer, batch_id, rows, self.screening(),
                                resumed=batch is not None)
        else:
            reply = batch["reply"]
        return json_response(200, render_reply(reply, request_language(request)))

    @api("GET", "/api/v1/jemput-bola/batches/<string:batch_id>")
    def get_batch(self, request, batch_id):
        """-> 200 the batch's reply (``status`` done), or the rows stored so far
        of one still being stored (processing); 404 for a batch id this
        officer has not sent"""
        officer = self.kelurahan_officers.authenticate(request)
        read_no_query(request)
        found = batch_as_it_stands(self.store, batches.batch_key(officer, batch_id))
        if found is None:
            raise BatchNotFound()
        reply, status = found
        return json_response(200, render_reply(reply, request_language(request), status))

    @api("GET", "/api/v1/jemput-bola/batches/<string:batch_id>/applications")
    def batch_applications(self, request, batch_id):
        """-> 200 {"batch_id", "manifest_id", "applications": [{"row", "application_id",
        "tracking_code", "document_type", "status", "status_label", "reasons"}]}: where
        each accepted row stands now (outside audit C: the officer could not
        follow a batch once sent); 404 for a batch id this officer has not sent"""
        officer = self.kelurahan_officers.authenticate(request)
        read_no_query(request)
        stands = batch_as_it_stands(self.store, batches.batch_key(officer, batch_id))
        if stands is None:
            raise BatchNotFound()
        reply = stands[0]
        found = self.store.batch_members([row["application_id"] for row in reply["accepted"]])
        lang = request_language(request)
        return json_response(200, {
            "batch_id": reply["batch_id"], "manifest_id": reply["manifest_id"],
            "applications": [batch_member_view(row, found[row["application_id"]], lang)
                             for row in reply["accepted"] if row["application_id"] in found]})

    @api("POST", "/api/v1/kecamatan/next-day-requests", new_work=True)
    def request_next_day(self, request):
        """{"applicant": {"nik": "3673045207050001", "kk_number": "...", "full_name": "...",
                          "phone": "081234567890"}, "details": {"reason": "first_issue"}}
        -> 202 {"application_id", "tracking_code", "status": "submitted", "next_day": true,
                "pickup_place": {"place_id": "disdukcapil-serang", ...}}"""
        officer = self.kecamatan_officers.authenticate(request)
        key = idempotency_key(request)
        body = read_json(request, AnyObject())
        # a retry is answered as its first try was, before the checks (the
        # card may be printed since); the key is this officer's own
        lang = request_language(request)
        if not (application := self._earlier_request(key, body, officer, lang)):
            checked = batches.check_next_day(body, officer.scope, today_wib(), self.screening(),
                                             lang)
            application = self.store.submit(batches.next_day_application(checked, officer, key))
            log.info("next-day request %s from %s for NIK %s", application["tracking_code"],
                     officer, mask_identity(application["applicant"]["nik"]))
        return json_response(202, {"application_id": application["_id"],
                                   "tracking_code": application["tracking_code"],
                                   "status": application["status"], "next_day": True,
                                   "pickup_place": DINAS.view()})

    def _earlier_request(self, key: str | None, body: dict, officer, lang: str) -> dict | None:
        """The next-day request this officer's key stored before, if any
        (``store.earlier_submission``, by the request's digests as for a
        citizen's: outside audit A2, a key reused for other details was
        answered with the first code)."""
        applicant = body.get("applicant")
        nik = applicant.get("nik") if isinstance(applicant, dict) else None
        return self.store.earlier_submission(key, applicant, batches.next_day_digests(
            body, lang), str(officer)) if key and isinstance(nik, str) else None


def batch_reply(batch: dict, accepted: list[dict], rejected: list[dict]) -> dict:
    """What the officer is answered, now and for every repeat of the batch id:
    no manifest (null) when no row was accepted - none will ever exist."""
    return {"batch_id": batch["batch_id"],
            "manifest_id": batch["manifest_id"] if accepted else None,
            "kelurahan_code": batch["kelurahan_code"], "rows": batch["rows"],
            "accepted": sorted(accepted, key=lambda row: row["row"]),
            "rejected": sorted(rejected, key=lambda row: row["row"])}


def held_by(store, officer, error: DomainError, application: dict,
            rows_of: dict) -> DomainError:
    """A row refused because its subject has an application in progress
    that an earlier row of this batch made (``rows_of``: by subject), or a
    row of an earlier batch of the same officer: the refusal names that row
    (outside audit C: the officer read "an application is already in
    progress", as for one made elsewhere, and could not tell which; audit I:
    nor which earlier batch). One made elsewhere stays unnamed (one read)."""
    if not isinstance(error, ActiveApplicationExists):
        return error
    field = next(iter(error.fields))
    earlier_row = next((rows_of[subject] for subject in subjects(application["subject_key"])
                        if subject in rows_of), None)
    if earlier_row is not None:
        return ActiveApplicationExists(field, earlier_row)
    holder = store.holder(application)
    if holder is None or holder.get("submitted_by") != str(officer) or not holder.get("batch"):
        return error
    return ActiveApplicationExists(field, other_batch=holder["batch"])


def accepted_row(row: batches.Row, application: dict) -> dict:
    return {**row_ref(row), "application_id": application["_id"],
            "tracking_code": application["tracking_code"]}


def row_ref(row: batches.Row) -> dict:
    """How a reply names a row: its number, and a CSV row's file line (outside
    audit H: an accepted CSV row had no ``line``, as documented)."""
    return {"row": row.number} if row.line is None else {"row": row.number, "line": row.line}


def rejected_row(row: batches.Row, error: DomainError) -> dict:
    """A refused row as stored: messages in both languages."""
    fields = error.fields or {"_row": [error.message]}
    return {**row_ref(row), "code": error.code,
            "fields": {path: [{"id": str(m), "en": m.en} if isinstance(m, Msg) else str(m)
                              for m in messages] for path, messages in fields.items()}}


def render_reply(reply: dict, lang: str, status: str = "done") -> dict:
    """The stored reply in the request's language, with the batch's
    ``status``; each refused row names its first field and reason, and
    lists all of them."""
    rejected = []
    for row in reply["rejected"]:
        fields = {path: [m["en" if lang == "en" else "id"] if isinstance(m, dict)
                         else localize(m, lang) for m in messages]
                  for path, messages in row["fields"].items()}
        first = min(fields)
        rejected.append({**row, "field": first, "reason": fields[first][0], "fields": fields})
    return {**reply, "status": status, "accepted_count": len(reply["accepted"]),
            "rejected_count": len(rejected), "rejected": rejected}
