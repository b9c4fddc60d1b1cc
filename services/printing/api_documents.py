"""HTTP entrypoints for the printed document (mixed into ``PrintingApi``).

  GET /api/v1/station/jobs/<id>/document.pdf?lease_token=...   the station holding the lease
  GET /api/v1/verify?token=SDK1....                            public, rate-limited
  GET /api/v1/verify/keys                                      public: the key set

and the providers they need: the signing keys (``VERIFY_SIGNING_KEY``,
``VERIFY_PUBLIC_KEYS``), the verification rate limit and intake's documents
API (a KIA's photo, with printing's service credential).
"""

from __future__ import annotations

import logging

import requests
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from shared.http import api, json_response, read_query
from shared.partners import partner_session
from shared.photos import PhotoUnreadable, card_photo, off_the_hub
from shared.ratelimit import FailureLimit, client_address, trusted_proxies
from shared.settings import InvalidSetting, integer, require, seconds

from . import tokens, verification
from .artefact import CARD_PHOTO_PIXELS, DoesNotFit, render
from .exceptions import IntakeUnavailable, KiaPhotoMissing, TooManyVerifications

log = logging.getLogger(__name__)


class SigningKeys(DependencyProvider):
    """The key that signs new tokens and every key a verifier may meet.

    ``VERIFY_SIGNING_KEY`` (secret, required): ``<kid>:<base64url 32 bytes>``.
    ``VERIFY_PUBLIC_KEYS``: earlier keys' public halves, ``kid:<base64url>,...``;
    the signing key's own public half is always published with them.
    """

    required_settings = ("VERIFY_SIGNING_KEY",)

    def setup(self):
        [signing] = require(self)
        try:
            self.current = tokens.parse_signing_key(signing)
        except ValueError as bad:
            raise InvalidSetting("VERIFY_SIGNING_KEY", str(bad)) from None
        try:
            published = tokens.parse_public_keys(self.container.config.get("VERIFY_PUBLIC_KEYS"))
        except ValueError as bad:
            raise InvalidSetting("VERIFY_PUBLIC_KEYS", str(bad)) from None
        self.public = {**published, self.current.kid: self.current.public}

    def get_dependency(self, worker_ctx):
        return self


class VerificationRate(DependencyProvider):
    """``VERIFY_REQUESTS_PER_CLIENT`` (60) verifications per client address in
    ``VERIFY_WINDOW_SECONDS`` (60), then 429 + Retry-After. Every request
    counts, genuine or not: a door-to-door check is a few scans a minute, a
    harvest of issuance ids is thousands. In memory per process, as
    ``shared.ratelimit`` explains."""

    def setup(self):
        config = self.container.config
        self.limit = FailureLimit(integer(config, "VERIFY_REQUESTS_PER_CLIENT", 60, minimum=1),
                                  seconds(config, "VERIFY_WINDOW_SECONDS", 60, positive=True))
        self.proxies = trusted_proxies(config)

    def count(self, request) -> None:
        client = client_address(request, self.proxies)
        wait = self.limit.retry_after(client)
        if wait:
            raise TooManyVerifications(wait)
        self.limit.failed(client)

    def get_dependency(self, worker_ctx):
        return self


class IntakeDocuments(DependencyProvider):
    """Intake's documents API, read with printing's own service credential
    (``INTAKE_SERVICE_TOKEN``; intake lists its hash in ``SERVICE_TOKENS``):
    the KIA photo a parent uploaded at intake (kind ``foto``). One session,
    a timeout on every call; a failure is ``IntakeUnavailable`` (503, the
    station retries), and a KIA that must carry a photo (intake's listing says
    ``photo_required``: from age 5) without one is ``KiaPhotoMissing``:
    never a card printed without the photo it should carry."""

    required_settings = ("INTAKE_URL", "INTAKE_SERVICE_TOKEN")

    def setup(self):
        url, token = require(self)
        config = self.container.config
        self.url = url.rstrip("/")
        self.timeout = seconds(config, "INTAKE_TIMEOUT_SECONDS", 5)
        self.session = partner_session(config)
        self.session.headers["Authorization"] = f"Bearer {token}"

    def stop(self):
        self.session.close()

    def kill(self):
        self.session.close()

    def photo(self, application_id: str) -> bytes | None:
        """The latest photo uploaded for the application, or None if it needs
        none (a child under 5); ``KiaPhotoMissing`` if it needs one and has none."""
        base = f"{self.url}/api/v1/applications/{application_id}/documents"
        try:
            listing = self.session.get(base, timeout=self.timeout)
            listing.raise_for_status()
            listed = listing.json()
            photos = [entry for entry in listed["documents"] if entry["kind"] == "foto"]
            if not photos:
                if listed.get("photo_required", False):
                    raise KiaPhotoMissing()
                return None
            content = self.session.get(f"{base}/{photos[-1]['document_id']}",
                                       timeout=self.timeout)
            content.raise_for_status()
            return content.content
        except (requests.RequestException, ValueError, KeyError):
            raise IntakeUnavailable() from None

    def get_dependency(self, worker_ctx):
        return self


class LeaseQuerySchema(Schema):
    """A parameter the download does not take is refused, as on every staff
    GET: a station agent that sends one has a bug worth hearing about."""

    class Meta:
        unknown = RAISE

    lease_token = fields.String(required=True, validate=validate.Length(min=8, max=64))


class TokenQuerySchema(Schema):
    """Only a missing or empty token is refused: any other text gets a
    verdict. One longer than ``tokens.MAX_TOKEN_CHARS`` is ``malformed``
    before it is decoded (``tokens.verify``), and the server reads no
    request line over 8 KiB (eventlet answers 414). Another parameter is
    ignored: the endpoint is public, called by any verifier's app, and
    docs/verification.md lists the 400s it answers (the refusal of docs/api.md
    is the staff's and the stations')."""

    class Meta:
        unknown = EXCLUDE

    token = fields.String(required=True, validate=validate.Length(min=1))


def printed_pdf(job: dict, issuance: dict, photo: bytes | None) -> bytes:
    """The PDF of ``issuance``; a KIA's ``photo`` prepared as its card prints
    it (``card_photo``) in a native thread, while the hub answers other
    requests: decoded on the hub, a 25-megapixel photo held every request of
    the service for 0.2 s a download. Then ``render`` only checks it."""
    if photo is not None:
        photo = off_the_hub(card_photo, photo, CARD_PHOTO_PIXELS)
    return fitting(lambda named_at_most: render(verification.printed_document(
        job, issuance, photo, named_at_most)), (job.get("document_details") or {}))


def fitting(rendered, details: dict) -> bytes:
    """``rendered(None)``: the document with every member of an SKPWNI
    named; when they do not fit on its page, as many as fit (found by
    halving), the rest counted, "dan N orang lainnya" (outside audit: 15
    members of 120-character names were a 500 at every download, the job
    never held). Each try is deterministic: a download again gets the same
    bytes. A document that does not fit with no member named fails as before."""
    try:
        return rendered(None)
    except DoesNotFit:
        if not details.get("members_named"):
            raise
    fewest, most, best = 0, len(details["members_named"]) - 1, None
    while fewest <= most:
        middle = (fewest + most) // 2
        try:
            best, fewest = rendered(middle), middle + 1
        except DoesNotFit:
            most = middle - 1
    if best is None:
        raise DoesNotFit("the SKPWNI does not fit its page with no member named")
    return best


class DocumentsApi:
    """Needs ``store`` (an ``IssuingPrintStore``), ``stations``, ``settings``,
    ``signing_keys``, ``verification_rate`` and ``intake_documents``."""

    @api("GET", "/api/v1/station/jobs/<string:job_id>/document.pdf")
    def download_document(self, request, job_id):
        """?lease_token=q3Zr8V1cS0yXbP2mT7wK4A -> 200 application/pdf"""
        station = self.stations.authenticate(request)
        lease_token = read_query(request, LeaseQuerySchema())["lease_token"]
        job, issuance = self.store.issue(job_id, station, lease_token, self.signing_keys.current)
        try:
            photo = (self.intake_documents.photo(job["application_id"])
                     if job["document_type"] == "kia" else None)
            content = printed_pdf(job, issuance, photo)
        except (KiaPhotoMissing, PhotoUnreadable):
            self.hold_without_photo(job, station, lease_token)
            raise KiaPhotoMissing() from None
        log.info("document %s of job %s (issuance %s) downloaded by %s", issuance[
            "document_number"], job_id, issuance["_id"], station)
        return Response(content, status=200, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{job_id}.pdf"',
            "Cache-Control": "no-store", "X-Issuance-Id": issuance["_id"]})

    def hold_without_photo(self, job: dict, station: str, lease_token: str) -> None:
        """A KIA that cannot carry its photo is held for an operator at once
        (as a station's ``data_error``): retrying the download would not bring
        the photo, and the card must not be printed without it."""
        held = self.store.mark_failed(job["_id"], station, lease_token, "data_error",
                                      "foto KIA tidak ada/tidak terbaca", self.settings.stations)
        log.warning("job %s (%s): the KIA photo is missing or unreadable, job %s",
                    job["_id"], job["tracking_code"], held["status"])

    @api("GET", "/api/v1/verify")
    def verify_document(self, request):
        """?token=SDK1.dinas-2026.eyJ0Ijo... -> 200 {"status": "valid", "kid": "dinas-2026",
        "claims": {"document_type": "ktp_el", "document_number": "3673-KTP-2026-0000042",
        "holder_name": "Siti Aminah", "issue_date": "2026-11-30", "issuance_id": "..."}}
        (or "revoked" with a "reason" - "replaced", "deceased", "reported_lost",
        "not_issued" - and the claims,
        or {"status": "invalid", "reason": "bad_signature"});
        no token, or an empty one -> 400 naming ``token``"""
        self.verification_rate.count(request)
        token = read_query(request, TokenQuerySchema())["token"]
        return json_response(200, verification.verdict(token, self.signing_keys.public,
                                                       self.store.find_issuance),
                             {"Cache-Control": "no-store"})

    @api("GET", "/api/v1/verify/keys")
    def verification_keys(self, request):
        """-> 200 {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "...", "x": "..."}]}"""
        return json_response(200, verification.published_keys(self.signing_keys.public))
