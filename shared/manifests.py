"""When a jemput-bola manifest goes back to its kelurahan: the one rule
printing (its officer collects it at the Dinas) and courier (a parcel by
Pos) both follow, so the two never disagree on which members went.
Plain Python."""

from __future__ import annotations

from collections.abc import Iterable


def still_expected(members: Iterable[str] | None, printed: Iterable[str],
                   dropped: Iterable[str] | None) -> set[str]:
    """The members (from ``batch_accepted``) the manifest still waits for:
    neither printed nor dropped. A dropped member will not be printed with
    the others - rejected at verification (``application_rejected``),
    withdrawn by its citizen (``application_cancelled``), its held print job
    given up by an operator (``print_job_cancelled``): waiting for it would
    keep the printed members' documents at the Dinas for ever."""
    return set(members or ()) - set(printed) - set(dropped or ())


def waits_for_none(members: Iterable[str] | None, printed: Iterable[str],
                   dropped: Iterable[str] | None) -> bool:
    """The members are known and none is ``still_expected``. Whether there is
    anything to send (some printed member) is the caller's to say."""
    return bool(members) and not still_expected(members, printed, dropped)
