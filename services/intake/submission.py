"""Accepting a citizen's application: the one pipeline behind every way in
(HTTP ``POST /api/v1/applications`` in ``service.py``, the front-ends' broker
channel in ``channel.py``), so both apply exactly the same rules and store
the same way. Raises the same ``DomainError``s for both to render."""

from __future__ import annotations

import logging
from contextlib import nullcontext

from shared.clock import today_wib
from shared.masking import mask_identity

from .domain import new_application, request_digests
from .exceptions import ActiveApplicationExists
from .rules import load_details
from .screening import Screening

log = logging.getLogger(__name__)


def submit_application(store, screening: Screening, body: dict, key: str | None,
                       admitted=nullcontext) -> dict:
    """Check a loaded request (``ApplicationRequestSchema``) as every new
    application is checked (``screening``) and store it with its
    ``application_submitted`` event; ``key``: the idempotency key (the same
    key again returns the first application, before any check but its details'
    form: a retry is answered as its first try was, whatever became of the
    application since; one whose details do not load is a 400 naming the field).
    An application still in progress for the subject (409) tells whoever
    asks what intake holds of its NIK: counted as the screening's refusals
    are (``Screening.telling``; in memory, no read more). ``admitted``: the
    context a new application (not a retry) is made in - over HTTP, counted
    against its client's limit, given back if it is refused (``service``).
    Returns the application."""
    if key:  # details that do not load: 400 naming the field, not 409 on the key (audit B)
        load_details(body["document_type"], body["details"])
    digests = request_digests(body) if key else ()
    if earlier := store.earlier_submission(key, body["applicant"], digests):
        return earlier
    with admitted():
        checked = screening.check(body, today_wib())
        with screening.telling(ActiveApplicationExists):
            made = new_application(body, checked.details, key, checked.stored(),
                                   digests[0] if digests else None)
            application = store.submit(made)
    if application is made:  # not a retry that raced its first try (answered as that one)
        log.info("application %s submitted for NIK %s, flags %s", application["tracking_code"],
                 mask_identity(application["applicant"]["nik"]), application["flags"])
    return application


def accepted_body(application: dict) -> dict:
    """What the citizen's front-end gets back for an accepted application."""
    return {"application_id": application["_id"],
            "tracking_code": application["tracking_code"],
            "status": application["status"]}
