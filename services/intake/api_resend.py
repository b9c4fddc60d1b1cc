"""HTTP: a citizen who lost their tracking code asks for it again (no token).

  POST /api/v1/tracking-code/resend   {"nik": ..., "document_type": ...} -> 202

If the NIK has an active application of that type (or, for a subject with
none active, a rejected one: resubmitting it takes the code), intake emits
``tracking_code_resend_requested`` (the reference and the contact on file) in
the store's transaction, and notification sends the code to that contact.
The answer is the same 202 whatever happened: it never shows the code, nor
whether an application exists, so it tells a stranger holding someone's NIK
nothing (the code goes to the contact the applicant gave, not to the asker).
Every request counts against two limits (``ResendLimits``): per NIK (an SMS
each time: a NIK must not be usable to flood its owner's phone) and per
client (an IPv6 one by its /64: ``shared.ratelimit.client_address``); over
either, 429 with Retry-After.

A mixin of ``IntakeApi`` (which supplies ``store`` and ``resend_limits``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from marshmallow import RAISE, Schema, fields, validate
from nameko.extensions import DependencyProvider

from shared.errors import Msg, TooManyAttempts, localize
from shared.events import DOCUMENT_TYPES
from shared.fields import Nik
from shared.http import api, json_response, read_json, request_language
from shared.masking import mask_identity
from shared.ratelimit import Attempts, FailureLimit, client_address, trusted_proxies
from shared.settings import integer, seconds

log = logging.getLogger(__name__)

ANSWER = Msg("Jika ada permohonan aktif, atau ditolak dan dapat diajukan ulang, untuk NIK "
             "dan jenis dokumen ini, kode lacaknya dikirim ke kontak yang tercatat pada "
             "permohonan.",
             "If there is an active application for this NIK and document type, or a "
             "rejected one that may be resubmitted, its tracking code is sent to the "
             "contact given in the application.")


class TooManyResends(TooManyAttempts):
    """429 as for failed attempts, worded for requests that did not fail."""

    too_many = Msg("Terlalu banyak permintaan kirim ulang.", "Too many re-send requests.")


class ResendSchema(Schema):
    class Meta:
        unknown = RAISE

    nik = Nik(required=True)
    document_type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_TYPES))


class ResendLimits(DependencyProvider):
    """Re-send requests per NIK (``RESEND_PER_NIK``, default 3) and per client
    (``RESEND_PER_CLIENT``, default 20) within ``RESEND_WINDOW_SECONDS``
    (default 3600), in memory like ``shared.ratelimit.TrackingCodeChecks``."""

    def setup(self):
        config = self.container.config
        window = seconds(config, "RESEND_WINDOW_SECONDS", 3600, positive=True)
        # the store counts each application's sends too, across instances
        self.sends = integer(config, "RESEND_PER_NIK", 3, minimum=1)
        self.window = timedelta(seconds=window)
        per_client = integer(config, "RESEND_PER_CLIENT", 20, minimum=1)
        self.attempts = Attempts(nik=FailureLimit(self.sends, window),
                                 client=FailureLimit(per_client, window))
        self.proxies = trusted_proxies(config)

    def take(self, request, nik: str) -> None:
        try:
            self.attempts.take(nik=nik, client=client_address(request, self.proxies))
        except TooManyAttempts as exc:
            raise TooManyResends(exc.retry_after) from None

    def get_dependency(self, worker_ctx):
        return self


class TrackingCodeResendApi:
    @api("POST", "/api/v1/tracking-code/resend")
    def resend_tracking_code(self, request):
        """{"nik": "3673045207900001", "document_type": "ktp_el"}
        -> 202 {"status": "accepted", "message": "..."} whether or not one exists
        (429 + Retry-After over the per-NIK or per-client limit)"""
        body = read_json(request, ResendSchema())
        self.resend_limits.take(request, body["nik"])
        sent = self.store.request_resend(body["nik"], body["document_type"],
                                         self.resend_limits.sends, self.resend_limits.window)
        log.info("tracking code re-send for NIK %s (%s): %d application(s)",
                 mask_identity(body["nik"]), body["document_type"], sent)
        return json_response(202, {"status": "accepted",
                                   "message": localize(ANSWER, request_language(request))})
