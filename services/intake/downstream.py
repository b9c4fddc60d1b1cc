"""What the other services' events do to an application. Plain Python, no nameko.

Each event of printing, courier and notification adds one step to the
timeline; some also move the status, along ``EVENT_MOVES``: the status the
event leads to and the statuses it may lead there from. Events come through
separate queues (printing's and courier's), so their order is not the order
things happened in; the table tolerates every order a valid history can
arrive in:

* a later event may come first: ``parcel_dispatched`` or ``parcel_delivered``
  while intake still has the application as ``verified`` (printing's events
  not yet processed), so each pipeline move starts from any earlier status;
* an event that comes after a later one (``document_printed`` once the
  application is ``dispatched``) is recorded on the timeline, at the time it
  happened, and leaves the status alone: never back down the road;
* a returned parcel goes back to pickup: ``parcel_returned`` leads to
  ``returned_to_dinas``, and printing's ``document_ready_for_pickup`` for
  the document printed before leads on to ``ready_for_pickup`` (also from
  ``dispatched``, when it comes before the return it follows).

No valid history is dead-lettered: an event outside its table (one for a
cancelled application, say) is a timeline step only. A final status
(collected, delivered, print_cancelled) frees the subject for a new application.

``record`` returns the one update the store writes (with the event id, so a
redelivery is recorded once: ``ApplicationStore.record_event``).
"""

from __future__ import annotations

from shared.events import shipment_manifest

from .domain import status_fields, timeline_entry

# before the document exists / once it does, as intake may still see it
NOT_PRINTED = frozenset({"verified", "print_queued", "print_failed", "print_held"})
PRINTED_OR_BEFORE = NOT_PRINTED | {"printed"}

# event -> (the status it leads to, the statuses it leads there from)
EVENT_MOVES: dict[str, tuple[str, frozenset[str]]] = {
    "print_job_queued": ("print_queued", frozenset({"verified"})),
    "print_job_failed": ("print_failed", frozenset({"verified", "print_queued"})),
    # a failure printing does not retry (``recorded_as``): held for an operator
    "print_job_held": ("print_held", frozenset({"verified", "print_queued", "print_failed"})),
    # the operator checked it and sent it back to the queue: only from held,
    # so a release that comes after the print (or the cancel) moves nothing
    "print_job_released": ("print_queued", frozenset({"print_held"})),
    # a printed document still at the Dinas, missing or spoiled, queued again
    # by an operator: no longer ready for pickup; only if neither the
    # reprint's window nor its print came first (``REPRINT``)
    "print_job_requeued": ("print_queued", frozenset({"printed", "ready_for_pickup",
                                                      "returned_to_dinas"})),
    # the operator gave the held job up - or a card printed whose holder died
    # since, still at the Dinas: final, the subject may apply again
    "print_job_cancelled": ("print_cancelled", PRINTED_OR_BEFORE | {"ready_for_pickup",
                                                                    "returned_to_dinas"}),
    "document_printed": ("printed", NOT_PRINTED),
    "document_ready_for_pickup": ("ready_for_pickup",
                                  PRINTED_OR_BEFORE | {"dispatched", "returned_to_dinas"}),
    "document_collected": ("collected", PRINTED_OR_BEFORE | {"ready_for_pickup", "dispatched",
                                                             "returned_to_dinas"}),
    "parcel_dispatched": ("dispatched", PRINTED_OR_BEFORE),
    "parcel_delivered": ("delivered", PRINTED_OR_BEFORE | {"dispatched"}),
    "parcel_returned": ("returned_to_dinas", PRINTED_OR_BEFORE | {"dispatched"}),
    # Pos took the parcel with the print before while the reprint waited (or
    # before Pos' news came): printed, the print Pos carries - not the
    # reprint's queue (outside audit J F2); its step is its own
    # (``STEP_NAMES``), and the reprint's print, if any, shows as withdrawn
    # (``domain.shown_timeline``)
    "reprint_withdrawn": ("printed", NOT_PRINTED),
}
# event -> the timeline step of an event that never moves the status
STEP_ONLY = {
    "parcel_delivery_failed": "delivery_failed",
    "parcel_picked_up": "picked_up",
    "pickup_rescheduled": "pickup_rescheduled",
    # the office's officer collects the list at the Dinas on its ``day``: the
    # document is printed, not at the office yet; the application stays
    # active until the officer's hand-over (``document_collected``)
    "batch_ready_for_kelurahan": "to_kelurahan",
    "kecamatan_handover_ready": "to_kecamatan",
    # a jemput-bola manifest's parcel delivered reaches the kelurahan office,
    # not the citizen (``recorded_as``): the application stays active until
    # the officer's hand-over (``document_collected``, how ``kelurahan``)
    "parcel_delivered_to_kelurahan": "at_kelurahan",
    "notification_sent": "notified",
    "notification_failed": "notification_failed",
}
# what ``recorded_as`` records some events as: event -> (how it is recorded,
# which of its events are)
RECORDED_AS = {
    "parcel_delivered": ("parcel_delivered_to_kelurahan",
                         lambda event: shipment_manifest(event["shipment_id"]) is not None),
    "print_job_failed": ("print_job_held", lambda event: not event["requeued"]),
}
# a move whose step is named after the event, not the status it leads to
STEP_NAMES = {"reprint_withdrawn": "reprint_withdrawn"}
# the step each event records: its own, or the status it leads to
EVENT_STEPS = {**{event: to for event, (to, _) in EVENT_MOVES.items()}, **STEP_ONLY,
               **STEP_NAMES}
# the print job every printing event names: on a print step, the job an
# operator releases, re-queues or cancels at printing
JOB = "print_job_id"
# a print's failure or hold, and who acted on it: the operator's detail
# shows them under names the citizen's view does not show (``domain.PUBLIC_DETAIL``
# shows a parcel's ``reason``, never ``by``) - (the event's field, the step's)
PRINT_REASON = ("reason", "print_reason")
# what an event's step shows: the event's field, or (its field, the step's
# name for it); the citizen sees the ``domain.PUBLIC_DETAIL`` ones. Before
# the print steps showed their job, reason, station and operator (outside
# review: a hold and its release read ``print_held {}``, ``print_queued {}``,
# a reprint as the first queueing), their steps were stored empty, and stay so
DETAIL_FIELDS = {
    "print_job_queued": (JOB,),
    "document_printed": (JOB, "station_id"),
    "print_job_failed": (JOB, "station_id", PRINT_REASON),  # retried: ``print_failed``
    # printing's own hold has no station; a failure held (``recorded_as``) has
    "print_job_held": (JOB, "station_id", PRINT_REASON),
    "print_job_released": (JOB, ("released_by", "by")),
    "print_job_requeued": (JOB, ("requeued_by", "by")),
    "print_job_cancelled": (JOB, PRINT_REASON, ("cancelled_by", "by")),
    "reprint_withdrawn": (JOB,),
    "document_ready_for_pickup": ("slot",),
    "pickup_rescheduled": ("slot",),
    "document_collected": ("how",),
    "parcel_dispatched": ("barcode",),
    "parcel_picked_up": ("barcode",),
    "parcel_delivered": ("barcode",),
    "parcel_delivered_to_kelurahan": ("barcode",),
    "parcel_delivery_failed": ("barcode", "reason"),
    "parcel_returned": ("barcode", "reason"),
    # not its ``slot`` (the officer's hours at the Dinas): the ``day`` the
    # officer collects the list there, and the day the citizen may collect
    # at the office from
    "batch_ready_for_kelurahan": ("kelurahan_code", "manifest_id", "day", "at_office_from"),
    "kecamatan_handover_ready": ("kecamatan_code", "day", "at_office_from"),
    "notification_sent": ("channel",),
    "notification_failed": ("channel",),
}
# events that (re)set the pickup window the citizen sees
SETS_PICKUP = ("document_ready_for_pickup", "pickup_rescheduled")
# the event that takes the window away: the document is printed again (a
# window announced after it - the reprint's, its event come first - stays,
# and a print after it - the reprint, of a document an office's officer
# collects, which has no window - keeps it printed). Always decided from a
# read of the application (rare: an operator's), never gathered.
REPRINT = "print_job_requeued"
# what a print does to the application - printed, its window set or moved:
# none of it holds once an operator re-queued the document after it (the
# re-queue, ``requeued_at``, came first: each event type has its queue -
# outside audit D, the first print's "ready" and window came after the
# re-queue and stayed shown until the reprint's)
OF_A_PRINT = ("document_printed", *SETS_PICKUP)


def recorded_as(event_type: str, event: dict) -> str:
    """What ``event`` is recorded as: itself, except a jemput-bola manifest's
    parcel delivered (to the kelurahan office: ``parcel_delivered_to_kelurahan``,
    a step, not the final ``delivered`` - the citizen has not got it yet) and
    a print failure printing does not retry (``print_job_held``: waiting for
    an operator, not "retrying")."""
    if event_type in RECORDED_AS and RECORDED_AS[event_type][1](event):
        return RECORDED_AS[event_type][0]
    return event_type


def step_from_event(event_type: str, event: dict) -> dict:
    """The timeline entry ``event`` adds (its time is when it happened)."""
    shown = (field if isinstance(field, tuple) else (field, field)
             for field in DETAIL_FIELDS.get(event_type, ()))
    detail = {name: event[field] for field, name in shown if event.get(field) not in (None, "")}
    return timeline_entry(EVENT_STEPS[event_type], event["occurred_at"], detail)


def needs_status(event_type: str) -> bool:
    """Whether what ``event_type`` records depends on the application as it
    stands (its status or pickup window); else its step is all it adds."""
    return event_type not in STEP_ONLY or event_type in SETS_PICKUP or event_type == REPRINT


def usual_move(event_type: str, event: dict) -> tuple[dict, dict] | None:
    """For an event that moves the status: the guard under which it makes the
    update ``record`` would (the statuses it moves from; for a pickup window,
    no window or an older one) and that update - the usual case, events in
    order, written in one guarded write with no read. None for the step-only
    events and the re-queue (``REPRINT``: decided from the timeline read)."""
    if event_type not in EVENT_MOVES or event_type == REPRINT:
        return None
    to_status, from_statuses = EVENT_MOVES[event_type]
    guard: dict = {"status": {"$in": sorted(from_statuses)}}
    changes = status_fields(to_status, event["application_id"])
    if event_type in SETS_PICKUP:
        # no window yet, or one set by an earlier event (a flat filter, no
        # $or: shared/store.py)
        guard["pickup.since"] = {"$not": {"$gt": event["occurred_at"]}}
        changes["pickup"] = {"slot": event["slot"], "since": event["occurred_at"]}
    if event_type in OF_A_PRINT:  # no re-queue after it (``replaced``)
        guard["requeued_at"] = {"$not": {"$gt": event["occurred_at"]}}
    changes.update(fields_set(event_type, event))
    return guard, {"$push": {"timeline": step_from_event(event_type, event)}, "$set": changes}


def fields_set(event_type: str, event: dict) -> dict:
    """What an event sets beside the status, whatever the status: a
    parcel's barcode; a withdrawn reprint's print - a print from the
    reprint's and up to printing withdrawing it is the reprint's
    (``domain.shown_timeline``)."""
    if event_type == "parcel_dispatched":
        return {"parcel": {"shipment_id": event["shipment_id"], "barcode": event["barcode"]}}
    if event_type == "reprint_withdrawn":
        return {"reprint_withdrawn": {"printed_at": event["reprint_printed_at"],
                                      "until": event["occurred_at"]}}
    return {}


def gatherable(event_type: str) -> bool:
    """Whether ``event_type``'s usual write can go out with other events' of
    its application (``together``): a step alone, or the usual move."""
    return (event_type in EVENT_MOVES and event_type != REPRINT) or not needs_status(event_type)


def together(events: list[tuple[str, dict]]) -> tuple[dict, dict, list[int]] | None:
    """For events of one application that came within a moment (each
    ``gatherable``, in the order they came): one guarded update making what
    their usual writes would, one after the other - their steps, and each
    move from where the one before it led (the first's guard says where the
    application must stand). An event whose move does not follow on from the
    one before it, or a second pickup window, is left out: it is recorded
    alone after. The guard and update, and which events they hold; None when
    fewer than two fit."""
    guard: dict = {}
    steps, changes, taken = [], {}, []
    status, pickup_set = None, False
    for n, (event_type, event) in enumerate(events):
        usual = usual_move(event_type, event)
        if usual is not None:
            move_guard, update = usual
            if status is not None and status not in move_guard["status"]["$in"]:
                continue  # not in the usual order: alone, where it is decided from a read
            if "pickup.since" in move_guard:
                if pickup_set:
                    continue
                guard["pickup.since"], pickup_set = move_guard["pickup.since"], True
            if "requeued_at" in move_guard:  # re-queued after none of them
                guard["requeued_at"] = min(guard.get("requeued_at", move_guard["requeued_at"]),
                                           move_guard["requeued_at"], key=guard_time)
            if status is None:
                guard["status"] = move_guard["status"]
            status = update["$set"]["status"]
            changes.update(update["$set"])
        steps.append(step_from_event(event_type, event))
        taken.append(n)
    if len(taken) < 2:
        return None
    ids = [events[n][1]["event_id"] for n in taken]
    guard["seen_events"] = {"$nin": ids}
    update: dict = {"$push": {"timeline": {"$each": steps}, "seen_events": {"$each": ids}}}
    if changes:
        update["$set"] = changes
    return guard, update, taken


def guard_time(guard: dict) -> str:
    """The time in a ``{"$not": {"$gt": time}}`` guard."""
    return guard["$not"]["$gt"]


def next_status(status: str, event_type: str) -> str | None:
    """The status ``event_type`` moves an application in ``status`` to, or None."""
    to_status, from_statuses = EVENT_MOVES.get(event_type, (None, frozenset()))
    return to_status if status in from_statuses else None


def record(application: dict, event_type: str, event: dict) -> dict:
    """The update ``event`` makes to ``application`` (as read: its status,
    pickup window, and for a re-queue its timeline): its step, and the status
    and fields it moves, if any."""
    step = step_from_event(event_type, event)
    changes: dict = {}
    if event_type in OF_A_PRINT and replaced(application, event):
        return {"$push": {"timeline": step}}  # re-queued since: the reprint's will come
    if event_type == REPRINT:
        changes["requeued_at"] = max(event["occurred_at"], application.get("requeued_at") or "")
        if not newer(event, application.get("pickup")) or printed_after(application, event):
            # the reprint's window, or print, came first
            return {"$push": {"timeline": step}, "$set": changes}
    if (to_status := next_status(application["status"], event_type)) is not None:
        changes.update(status_fields(to_status, application["_id"]))
        if event_type == REPRINT:
            changes["pickup"] = None
    if event_type in SETS_PICKUP and newer(event, application.get("pickup")):
        changes["pickup"] = {"slot": event["slot"], "since": event["occurred_at"]}
    changes.update(fields_set(event_type, event))
    update: dict = {"$push": {"timeline": step}}
    if changes:
        update["$set"] = changes
    return update


def replaced(application: dict, event: dict) -> bool:
    """Whether an operator re-queued the document after ``event`` (of the
    print it replaced) happened."""
    return (application.get("requeued_at") or "") > event["occurred_at"]


def printed_after(application: dict, event: dict) -> bool:
    """Whether ``application``'s timeline has a print later than ``event``
    (the reprint's ``document_printed``, come before its re-queue) or the
    reprint's withdrawal (``reprint_withdrawn``: the print Pos carries)."""
    return any(step["status"] in ("printed", "reprint_withdrawn")
               and step["at"] > event["occurred_at"]
               for step in application.get("timeline", ()))


def newer(event: dict, known: dict | None) -> bool:
    """Whether ``event`` happened after what ``known`` was set from: a window
    moved before its first announcement came keeps the later one."""
    return known is None or event["occurred_at"] >= known["since"]
