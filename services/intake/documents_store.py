"""Supporting documents in intake's own database: the files in GridFS (bucket
``documents``: ``documents.files`` + ``documents.chunks``), the listing on the
application (``documents``, ``documents_count``, ``documents_bytes``).

Not one transaction: pymongo refuses GridFS inside a multi-document
transaction ("GridFS does not support multi-document transactions"). So two
steps, in an order a crash between them cannot turn into a wrong listing:
1. the file goes into GridFS (its ``files`` row written last, after its
   chunks), with its metadata;
2. the application lists it, in one conditional update that re-states the
   rules checked on the first read (status, number of files, total bytes,
   not the same file of the same kind listed), so concurrent uploads cannot
   pass a limit together nor list one file twice. When that update finds the
   application changed, it is read again: the same file's entry (the file is
   deleted again), ``admit``'s refusal (deleted too), or the update is tried
   again against what the application holds now - a second page of a kind
   sent beside the first after a rejection lost only the guard on the
   document both replace (outside review: it was deleted and answered 409
   ``document_limit_reached`` with room to spare). One that keeps losing,
   ``LISTING_ATTEMPTS`` times, is deleted and answered 503 (``DocumentsChanging``):
   sent again, it is listed.
A crash between 1 and 2 leaves a file no application lists: never shown,
never counted, and recognisable (its id is not in the application's
``documents``) for a clean-up.

Mixed into ``ApplicationStore``; uses its ``find_for_citizen`` and ``get``.
"""

from __future__ import annotations

from gridfs import GridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING

from shared.clock import utcnow
from shared.errors import DomainError
from shared.store import BaseStore, update_then_read

from . import uploads

BUCKET = "documents"
# how many times an upload's listing is tried against the application read
# afresh, before it is given up (503): uploads to one application at once
# are a family's few pages, not a crowd
LISTING_ATTEMPTS = 3


class DocumentStore(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        # GridFS's own indexes, made here rather than by the driver on a first
        # upload, plus the listing by application
        db[f"{BUCKET}.files"].create_index([("filename", ASCENDING), ("uploadDate", ASCENDING)])
        db[f"{BUCKET}.files"].create_index([("metadata.application_id", ASCENDING)])
        db[f"{BUCKET}.chunks"].create_index([("files_id", ASCENDING), ("n", ASCENDING)],
                                            unique=True)
        super().ensure_indexes(db)

    @property
    def _bucket(self) -> GridFSBucket:
        return GridFSBucket(self.db, bucket_name=BUCKET)

    def attach_document(self, tracking_code: str, nik: str, kind: str,
                        checked: uploads.CheckedFile,
                        limits: uploads.UploadLimits) -> tuple[dict, dict, bool]:
        """Store a document for the citizen's application: (application,
        entry, created). The same content of the same kind again is the
        first entry, stored once (created False)."""
        application = self.find_for_citizen(tracking_code, nik)
        if (earlier := uploads.same_document(application, kind, checked)) is not None:
            return application, earlier, False
        replaced = uploads.replaced_by_upload(application, kind)
        uploads.admit(application, checked, limits, replaced)
        entry = uploads.new_document(application["_id"], kind, checked, utcnow())
        self._bucket.upload_from_stream_with_id(
            entry["document_id"], uploads.file_name(entry), checked.content, metadata=entry)
        for _ in range(LISTING_ATTEMPTS):
            if (listed := self._list(application["_id"], entry, limits, replaced)) is not None:
                return listed, entry, True
            # changed since it was read: another upload, a status move
            application = self.get(application["_id"])
            if (earlier := uploads.same_document(application, kind, checked)) is not None:
                self._bucket.delete(entry["document_id"])
                return application, earlier, False
            replaced = uploads.replaced_by_upload(application, kind)
            try:
                uploads.admit(application, checked, limits, replaced)
            except DomainError:  # no room left now, or no documents taken any more
                self._bucket.delete(entry["document_id"])
                raise
        self._bucket.delete(entry["document_id"])
        raise uploads.DocumentsChanging()

    def _list(self, application_id: str, entry: dict, limits: uploads.UploadLimits,
              replaced: list[dict]) -> dict | None:
        """List ``entry`` in place of ``replaced`` while the application still
        allows what ``admit`` allowed: the application listing it, or None."""
        size, freed = entry["size"], sum(old["size"] for old in replaced)
        return update_then_read(
            self.db.applications,
            {"_id": application_id, "status": {"$in": list(uploads.ACCEPTS_DOCUMENTS)},
             # $not matches a missing counter too (an application without documents)
             "documents_count": {"$not": {"$gte": limits.max_files + len(replaced)}},
             "documents_bytes": {"$not": {"$gt": limits.max_total_bytes - size + freed}},
             # the same file again, sent before the first was listed (a retry)
             "documents": {"$not": {"$elemMatch": {"kind": entry["kind"],
                                                   "sha256": entry["sha256"]}}},
             # what it replaces, not replaced by another upload meanwhile
             **{f"documents_replaced.{old['document_id']}": {"$exists": False}
                for old in replaced}},
            {"$push": {"documents": entry},
             "$inc": {"documents_count": 1 - len(replaced), "documents_bytes": size - freed},
             **({"$set": {f"documents_replaced.{old['document_id']}": entry["document_id"]
                          for old in replaced}} if replaced else {})},
            projection={"timeline": 0, "seen_events": 0})

    def read_document(self, application_id: str, document_id: str) -> tuple[dict, bytes]:
        """A listed document's entry and content, or DocumentNotFound."""
        application = self.db.applications.find_one(
            {"_id": application_id, "documents.document_id": document_id}, {"documents": 1})
        if application is None:
            raise uploads.DocumentNotFound()
        entry = next(e for e in application["documents"] if e["document_id"] == document_id)
        try:
            content = self._bucket.open_download_stream(document_id).read()
        except NoFile:
            raise uploads.DocumentNotFound() from None
        return entry, content
