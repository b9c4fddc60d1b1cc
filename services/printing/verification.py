"""Issuances: each print-ready PDF a station downloads is one, with its own
signed token; the print of it reported printed replaces the earlier ones.
Plain Python: the store loads and saves, these functions decide.

An issuance belongs to one lease of one job: the same station downloading
again under the same lease gets the same issuance (and the same bytes); a
new lease - after a failure, an expired lease, a takeover - makes a new
issuance. Nothing is revoked at a download: only when a station reports a
document printed (``printed_issuance``) are the earlier issuances of its
application revoked, in the print's own transaction, so the one card that
counts is the last one printed and the citizen's card stays valid while its
replacement is only being printed. A card is one per holder: a new card for
the same NIK (an approved replacement of a KTP-el, a KIA applied for again)
revokes the holder's earlier cards of that type too, printed under other
applications (``superseded``). A download whose print never reached anyone -
reported failed, or its job cancelled by an operator - is never valid
(``not_issued``), whatever else happens. A printed document an operator
re-queues (missing or spoiled at the Dinas) is ``replaced`` at once
(``reprint_queued``). A card whose holder's Akta
Kematian is verified here is no one's any more (``holder_died``), and so
is a card whose replacement as lost is verified (``reported_lost``): at
the verification, not at the replacement's print. The
document number belongs to the application: a reprint keeps it, as a
reprinted certificate keeps its register number.

The public verdict shows the token's claims and nothing else: never the NIK
(which is not in the token either), never the job or the station.
"""

from __future__ import annotations

import datetime
import secrets
from typing import Callable

from shared.printable import as_printed

from . import tokens
from .artefact import CARDS, PrintedDocument
from .domain import holder
from .printed_details import detail_lines, holder_label, statement

# the Dinas' register code (Kota Serang) and a short code per document type
REGISTER_CODE = "3673"
NUMBER_CODES = {"ktp_el": "KTP", "kia": "KIA", "akta_kelahiran": "AL",
                "akta_kematian": "AM", "skpwni": "PWNI"}


def counter_key(document_type: str, year: int) -> str:
    """One serial per document type and year."""
    return f"{NUMBER_CODES[document_type]}-{year}"


def document_number(document_type: str, year: int, serial: int) -> str:
    """``3673-KTP-2026-0000042``: register, type, year, serial. Never the NIK."""
    return f"{REGISTER_CODE}-{NUMBER_CODES[document_type]}-{year}-{serial:07d}"


def new_issuance_id() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 random bits


def new_issuance(job: dict, lease_token: str, number: str, key: tokens.SigningKey,
                 issued_on: datetime.date, now: datetime.datetime) -> dict:
    """The issuance row for a job's download under one lease, token signed."""
    issuance_id = new_issuance_id()
    holder_name, holder_nik = holder(job)
    # the holder as the document prints them (``Nguyễn`` as ``Nguyen``): what a
    # verifier compares with the paper, and a shorter token - the longest
    # accented names intake takes made a card's QR version 16, too dense for
    # a 300 dpi card printer (outside audit); version 15 now
    claims = tokens.claims_for(job["document_type"], number, as_printed(holder_name),
                               issued_on, issuance_id)
    return {"_id": issuance_id, "print_job_id": job["_id"], "lease_token": lease_token,
            "station_id": job.get("station_id"),  # the lease holder's: ``printed_issuance``
            "application_id": job["application_id"], "document_type": job["document_type"],
            "holder_nik": holder_nik, "document_number": number, "claims": claims,
            "kid": key.kid, "token": tokens.sign(claims, key), "revoked": False,
            "issued_at": now}


def superseded(issuance: dict) -> list[dict]:
    """The queries for the issuances ``issuance`` replaces, not yet revoked:
    earlier prints of its application and, for a card, the holder's earlier
    cards of the same type (flat filters, one each: no ``$or``)."""
    replaced = [{"application_id": issuance["application_id"]}]
    if issuance.get("holder_nik"):
        replaced.append({"holder_nik": issuance["holder_nik"],
                         "document_type": issuance["document_type"]})
    return [{**query, "revoked": False, "_id": {"$ne": issuance["_id"]}} for query in replaced]


def revocation(issuance: dict, now: datetime.datetime) -> dict:
    """What an earlier issuance of the application gets when ``issuance`` replaces it."""
    return {"revoked": True, "revoked_at": now, "revoked_reason": "replaced",
            "replaced_by": issuance["_id"]}


def reprint_queued(now: datetime.datetime) -> dict:
    """What the downloads of a printed job get when an operator re-queues it
    (its document missing or spoiled at the Dinas): ``replaced``, as by any
    reprint - at once, not when the reprint is printed (nobody holds the
    document; whoever finds it is not its holder)."""
    return {"revoked": True, "revoked_at": now, "revoked_reason": "replaced"}


# why a download never became the holder's document (``not_issued``)
PRINT_FAILED, PRINT_CANCELLED = "print_failed", "print_cancelled"
# a reprint of a Pos parcel withdrawn: Pos took the document printed before
REPRINT_WITHDRAWN = "reprint_withdrawn"
# what a revocation writes beside ``revoked`` (``revocation``, ``not_issued`` ...)
REVOCATION_FIELDS = {"revoked_at": "", "revoked_reason": "", "replaced_by": ""}


def carried_by_pos(downloads: list[dict], printed_before: datetime.datetime
                   ) -> tuple[dict | None, list[dict]]:
    """Of a Pos parcel's downloads, when Pos took the parcel while its
    reprint was not printed (``domain.reprint_withdrawn``), the print before
    the re-queue made at ``printed_before``: that print's download - in the
    parcel: restored (``restoration``), if the re-queue or the reprint
    revoked it as ``replaced`` (not one revoked for another reason since: a
    death, a loss) - and the ones never to be valid: the reprint's,
    downloaded after it and still valid."""
    before = [issuance for issuance in downloads
              if issuance.get("printed_at") and issuance["printed_at"] <= printed_before]
    carried = max(before, key=lambda issuance: issuance["printed_at"], default=None)
    withdrawn = [issuance for issuance in downloads if not issuance["revoked"]
                 and issuance["issued_at"] > printed_before]
    restored = carried is not None and carried["revoked"] \
        and carried.get("revoked_reason") == "replaced" \
        and carried.get("replaced_by") in (None, *(issuance["_id"] for issuance in downloads))
    return (carried if restored else None), withdrawn


# what a card revoked as ``replaced`` keeps of its holder's death or loss
# recorded since (``gone_while_replaced``): the revocation a restore gives it
RESTORED_AS = "restored_as"


def gone_while_replaced(cards: dict, revocation: dict) -> list[tuple[dict, dict]]:
    """(query, update) pairs for the holder's ``cards`` (a flat filter) when
    their death or loss is recorded (``revocation``: ``holder_died``,
    ``reported_lost``): the ones still valid are revoked so; the ones
    revoked as ``replaced`` keep that reason (a card revoked already keeps
    its reason) but keep the revocation too, for ``restoration``: a re-queued
    card Pos carries after all (``carried_by_pos``) is then revoked as the
    death or loss says, never valid again (outside review: a withdrawn
    reprint made a deceased holder's card answer ``valid``). The first
    death or loss recorded stands."""
    return [({**cards, "revoked": False}, {"$set": revocation}),
            ({**cards, "revoked_reason": "replaced", RESTORED_AS: {"$exists": False}},
             {"$set": {RESTORED_AS: {key: revocation[key]
                                     for key in ("revoked_at", "revoked_reason")}}})]


def restoration(issuance: dict) -> dict:
    """The update of the download a parcel carries (``carried_by_pos``):
    valid again, or - its holder's death or loss recorded while it was
    revoked as ``replaced`` (``gone_while_replaced``) - revoked as that."""
    if issuance.get(RESTORED_AS):
        return {"$set": issuance[RESTORED_AS], "$unset": {"replaced_by": ""}}
    return {"$set": {"revoked": False}, "$unset": REVOCATION_FIELDS}


def not_issued(why: str, now: datetime.datetime) -> dict:
    """What an issuance gets when its print is reported failed (``PRINT_FAILED``)
    or its job is cancelled (``PRINT_CANCELLED``): never valid, and nothing it
    would have replaced is revoked by it."""
    return {"revoked": True, "revoked_at": now, "revoked_reason": why}


# why a card is no one's any more: its holder's death recorded (``holder_died``)
DECEASED = "deceased"


def holder_died(now: datetime.datetime) -> dict:
    """What a card still valid gets when its holder's Akta Kematian is
    verified here: revoked, whatever else happens."""
    return {"revoked": True, "revoked_at": now, "revoked_reason": DECEASED}


# why a card is no one's any more: its holder reported it lost and the Dinas
# verified the replacement (``reported_lost``)
REPORTED_LOST = "reported_lost"


def reported_lost(now: datetime.datetime) -> dict:
    """What a card still valid gets when a replacement for it as lost is
    verified here: revoked at once - not when the replacement is printed,
    days later (the holder does not have it; whoever does is not them)."""
    return {"revoked": True, "revoked_at": now, "revoked_reason": REPORTED_LOST}


def printed_issuance(issuances: list[dict], lease_token: str,
                     station_id: str | None = None) -> dict | None:
    """Of a job's issuances, the one a print reported under ``lease_token``
    put on paper: the lease's own download; without one, the latest issuance
    still standing that the reporting station ``station_id`` downloaded (it
    printed under an earlier lease of its own, crashed, claimed the job back
    and reports it under the new lease without downloading again: the
    journal pattern) - another station's download meanwhile, under a lease
    that ran out too, is not what this station printed (a station review:
    it was taken, and the card printed answered ``revoked``) -, else the
    latest standing (rows from before issuances named their station). None:
    nothing was downloaded (nothing to replace anything with)."""
    for issuance in issuances:
        if issuance["lease_token"] == lease_token:
            return issuance
    standing = [issuance for issuance in issuances if not issuance["revoked"]]
    own = [issuance for issuance in standing
           if station_id is not None and issuance.get("station_id") == station_id]
    return max(own or standing, key=lambda issuance: issuance["issued_at"], default=None)


def public_reason(issuance: dict) -> str:
    """The verdict's reason for a revoked issuance: ``replaced`` by a document
    printed later (rows from before the reason was kept too), ``deceased``:
    its holder's death is recorded, ``reported_lost``: its holder reported
    it lost (a replacement verified), or ``not_issued``: its print failed or
    was cancelled."""
    reason = issuance.get("revoked_reason", "replaced")
    return reason if reason in ("replaced", DECEASED, REPORTED_LOST) else "not_issued"


def printed_document(job: dict, issuance: dict, photo: bytes | None = None,
                     named_at_most: int | None = None) -> PrintedDocument:
    """What ``issuance`` of ``job`` prints; an SKPWNI's moving members
    named up to ``named_at_most`` (all: None)."""
    claims, details = issuance["claims"], job.get("document_details")
    return PrintedDocument(
        document_type=claims["document_type"], document_number=claims["document_number"],
        holder_name=claims["holder_name"],
        holder_label=holder_label(claims["document_type"], details),
        statement=statement(claims["document_type"], details),
        issue_date=datetime.date.fromisoformat(claims["issue_date"]),
        token=issuance["token"],
        nik=holder(job)[1] if claims["document_type"] in CARDS else None,
        details=detail_lines(details, named_at_most), photo=photo)


def verdict(token: str, public_keys: dict, find_issuance: Callable[[str], dict | None]) -> dict:
    """What the public endpoint answers about ``token``.

    ``{"status": "valid", "claims": {...}, "kid": ...}``, the same with
    ``"revoked"`` and a ``reason`` (``replaced``: a document printed later
    replaced it; ``deceased``: its holder's death is recorded;
    ``reported_lost``: its holder reported it lost; ``not_issued``:
    its print failed or was cancelled; the claims say which document), or ``{"status": "invalid", "reason": ...}`` for
    anything not signed by a published key, altered, or not issued here.
    """
    try:
        kid, claims = tokens.verify(token, public_keys)
    except tokens.InvalidToken as invalid:
        return {"status": "invalid", "reason": invalid.reason}
    issuance = find_issuance(claims["issuance_id"])
    if issuance is None or issuance["claims"] != claims or issuance["kid"] != kid:
        # a valid signature on what was never issued (or not with that key):
        # only a leaked key makes one; not vouched for
        return {"status": "invalid", "reason": "unknown_issuance"}
    if issuance["revoked"]:
        return {"status": "revoked", "reason": public_reason(issuance), "kid": kid,
                "claims": claims}
    return {"status": "valid", "kid": kid, "claims": claims}


def published_keys(public_keys: dict) -> dict:
    """The verifiers' key set, JWKS-like (RFC 8037 OKP keys)."""
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid,
                      "x": tokens.b64encode(tokens.raw_public(key))}
                     for kid, key in sorted(public_keys.items())]}
