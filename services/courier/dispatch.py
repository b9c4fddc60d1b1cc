"""Courier's calls to Pos Indonesia, each followed by what it tells the
store: posting a shipment (and reading the tracking of a posting that was
in doubt), and polling quiet shipments. The event handlers, the operators'
endpoints and the timer call these; no nameko here.
"""

from __future__ import annotations

import datetime
import logging

from shared.logs import error_line

from .exceptions import PosRefused, PosUnavailable
from .store import IN_DOUBT

log = logging.getLogger(__name__)


def post_shipment(pos, store, shipment: dict) -> dict:
    """Post a pending shipment to Pos and record the barcode. Safe to repeat:
    Pos answers the same order id with the same barcode. From the moment it
    is sent until its barcode is recorded the posting is in doubt - Pos may
    have taken it, its answer still on its way or lost - and Pos' webhooks
    about a barcode courier does not know yet are answered "not yet"
    (``CourierStore.apply_tracking``)."""
    retried = bool(shipment.get(IN_DOUBT))  # sent before: marked on the first try
    if not retried:
        store.posting_in_doubt(shipment["_id"])
    try:
        barcode = pos.add_posting(shipment["posting"])
    except PosRefused:
        store.posting_refused(shipment["_id"])
        raise
    recorded = store.record_dispatch(shipment["_id"], barcode)
    log.info("shipment %s dispatched: barcode %s", shipment["_id"], barcode)
    if retried:
        catch_up(pos, store, barcode)
    return recorded


def catch_up(pos, store, barcode: str) -> None:
    """A posting Pos may have had since an earlier try: what Pos' webhooks
    said of it meanwhile found no barcode here (answered "not yet", and Pos
    may not send them again), so its tracking is read now. Pos out of reach:
    the poll of quiet shipments reads it later."""
    try:
        events = pos.tracking(barcode)
        if events:
            store.apply_tracking(barcode, events, "poll")
    except PosUnavailable as exc:
        log.warning("tracking of %s not read after its posting: %s", barcode, exc)
    except Exception as exc:  # the dispatch is recorded: its caller must not fail now
        log.warning("tracking of %s not taken after its posting: %s", barcode,
                    error_line(exc))


def poll(pos, store, claimed: list[dict], quiet: datetime.timedelta) -> None:
    """Ask Pos about each shipment ``claimed`` (``CourierStore.claim_quiet``)
    and take its news. Pos out of reach: the round stops, and what it did
    not ask is given back - due at the next round. A shipment whose news
    cannot be taken is given back alone, and the round goes on (a review:
    one such stopped the round, the rest of its batch waited ``quiet``, and
    the same shipment stopped every round)."""
    failed: list[dict] = []
    for asked, shipment in enumerate(claimed):
        try:
            events = pos.tracking(shipment["barcode"])
            if events is not None:
                store.apply_tracking(shipment["barcode"], events, "poll")
        except PosUnavailable as exc:
            log.warning("polling Pos stopped for this round: %s", exc)
            store.give_back_quiet(failed + claimed[asked:], quiet)
            return
        except Exception as exc:  # this shipment's news, not the rest of the round
            log.warning("tracking of %s not taken, asked again next round: %s",
                        shipment["barcode"], error_line(exc))
            failed.append(shipment)
    if failed:
        store.give_back_quiet(failed, quiet)
