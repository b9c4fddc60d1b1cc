"""When a jemput-bola manifest goes back to its kelurahan: the one rule
printing (its officer collects it at the Dinas) and courier (a parcel by
Pos) both follow, so the two never disagree on which members went.
Plain Python.

A member is *dropped* - the manifest does not wait for it - when it will
not be printed with the others: rejected at verification
(``application_rejected``), withdrawn by its citizen
(``application_cancelled``), its held print job given up by an operator
(``print_job_cancelled``): waiting for it would keep the printed members'
documents at the Dinas for ever. A dropped member verified again since
(resubmitted, ``application_verified``) is a member again: while its
manifest has not gone, the manifest waits for it and takes it along. Each
service keeps, per member, the time of the latest drop and of the latest
verification (``member_dropped``, ``member_verified``: ``$max`` updates),
so the answer is the same whatever order the events come in - they come
on queues of their own, and one may be retried after the other."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping


def member_dropped(application_id: str, at: datetime.datetime) -> dict:
    """The update recording that a member was dropped ``at`` (its event's time)."""
    return {"$max": {f"dropped_at.{application_id}": at}}


def member_verified(application_id: str, at: datetime.datetime) -> dict:
    """The update recording that a member was verified ``at`` (its event's time)."""
    return {"$max": {f"verified_at.{application_id}": at}}


def dropped(manifest: Mapping, untimed: str) -> set[str]:
    """The members of ``manifest`` dropped after their latest verification
    (``member_dropped``, ``member_verified``). ``untimed`` names the list an
    earlier version kept of dropped members, without times: those count as
    dropped before any verification recorded."""
    verified = manifest.get("verified_at") or {}
    return ({application_id for application_id, at in (manifest.get("dropped_at") or {}).items()
             if application_id not in verified or at > verified[application_id]}
            | {application_id for application_id in manifest.get(untimed) or ()
               if application_id not in verified})


def still_expected(members: Iterable[str] | None, printed: Iterable[str],
                   dropped: Iterable[str] | None) -> set[str]:
    """The members (from ``batch_accepted``) the manifest still waits for:
    neither printed nor ``dropped``."""
    return set(members or ()) - set(printed) - set(dropped or ())


def waits_for_none(members: Iterable[str] | None, printed: Iterable[str],
                   dropped: Iterable[str] | None) -> bool:
    """The members are known and none is ``still_expected``. Whether there is
    anything to send (some printed member) is the caller's to say."""
    return bool(members) and not still_expected(members, printed, dropped)
