"""The loop: claim, download, journal, print, journal, report. Never twice.

The printing service leases a job to one station at a time and takes a
report only from the lease holder; what it cannot know is whether *this*
station's printer already has the document when the station crashes. The
journal (``journal.py``) knows: ``printing`` is written before the hand-over
and ``printed`` after, so on restart (``recover``) and whenever a job comes
back to this station (its lease ran out while the station was down), a job
the printer may have is reported printed, never printed again. A job that
comes back after its report was heard (``reported``) was sent again by an
operator (``reprint``): it is printed again. Before every claim the journal
is settled (``recover``): nothing more is claimed while a report is unheard,
so a job comes back only when its lease really ran out, and a card is never
printed again elsewhere because its report waited behind new work.

The price of that rule: a crash after ``printing`` is durable but before the
printer took the document reports printed a document that was not. A printer
that lost a job is visible on the spot (no card); an operator re-queues it
(``POST /api/v1/operator/print-jobs/<id>/reprint``, docs/station-api.md: its
QR stops verifying, the reprint gets a new window).
A second card for one citizen - two valid cards - is the worse failure, and
this ordering rules it out.

Nothing here logs the job's NIK or name: a job is named by its id and
tracking code.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Callable

from .journal import PRINTER_MAY_HAVE_IT, Journal
from .printers import PrinterFault, PrinterInDoubt
from .station_api import Answer, StationApi

log = logging.getLogger("station")

# tries of a call whose answer may come right later (no answer, 5xx, 429),
# each after the answer's Retry-After (or ``retry_seconds``)
DOWNLOAD_ATTEMPTS = 10
REPORT_ATTEMPTS = 5
CLAIM_ATTEMPTS = 5
REPORTED, LOST, REFUSED, UNHEARD = "reported", "lost", "refused", "unheard"


def unanswered(answer: Answer) -> bool:
    """No answer or a 5xx: the call may have been done or not (a 4xx -
    408 and 429 too - says it was not)."""
    return answer.status == 0 or answer.status >= 500


def final(answer: Answer) -> bool:
    """A 4xx that asking again will not change (not 408 or 429; a 401 is
    the caller's: the agent stops)."""
    return 400 <= answer.status < 500 and answer.status not in (408, 429)


class TokenRefused(Exception):
    """The service refused this station's token (401): retrying cannot help,
    and each try counts against the address's failed attempts - a station
    retrying a wrong token locked every station behind its address out with
    429 for minutes, again and again (outside audit T1). The agent stops."""


class StationAgent:
    def __init__(self, api: StationApi, printer, journal: Journal,
                 after_hand_over: Callable[[str], None] = lambda job_id: None,
                 sleep: Callable[[float], None] = time.sleep, retry_seconds: float = 2.0,
                 fault_pause_seconds: float = 60.0):
        self.api, self.printer, self.journal = api, printer, journal
        self.after_hand_over = after_hand_over  # a test's crash point; nothing in production
        self.sleep, self.retry_seconds = sleep, retry_seconds
        # after a printer fault, claim nothing for this long: the job goes to
        # another station, and a printer left broken does not use up the
        # attempts of job after job (the third puts a job on hold)
        self.fault_pause_seconds = fault_pause_seconds
        # jobs whose printed report the service refused (a 4xx other than a
        # lost lease) in this run: left to the next start and an operator
        self.refused: set[str] = set()
        # the Idempotency-Key of this claim round (``claim``): at the start,
        # the last round's, kept beside the journal
        self.claim_key: str | None = journal.last_claim_key()

    def recover(self) -> bool:
        """Report what the printer may have and the service has not heard
        (docs/station-api.md: until 200 or a 4xx) - at the start, and before
        every claim: a job claimed again is then one whose lease really ran
        out (or an operator's reprint), and a report that did not get through
        is not left behind while work keeps coming (its lease would run out
        and another station print the card again). False while one is still
        unheard: the agent claims nothing more meanwhile. A report refused
        (a 4xx other than a lost lease) waits for the next start and an
        operator; it does not hold up the rest."""
        for entry in self.journal.unreported():
            if entry["job"] in self.refused:
                continue
            if self.report_printed(entry["job"], entry["lease_token"],
                                   entry.get("tracking_code", "?")) == UNHEARD:
                return False
        return True

    def step(self) -> bool:
        """Claim and handle one job. False when there was nothing to do."""
        if not self.recover():
            return True  # a report unheard, waited on: again before anything else
        claimed = self.claim()
        if claimed.status == 204:
            return False
        if claimed.status == 401:
            raise TokenRefused()
        if claimed.status != 200:
            self.wait_after(claimed, "claim")
            return True
        job = claimed.body
        job_id, lease, code = job["print_job_id"], job["lease_token"], job["tracking_code"]
        if self.journal.state(job_id) in PRINTER_MAY_HAVE_IT:
            # ours before a crash, its lease ran out meanwhile: the card exists.
            # One the service heard printed ("reported") comes back only by an
            # operator's reprint (the document went missing or was spoiled):
            # printed again, below (a reviewer's reprint came back here and
            # was reported printed with no card made)
            log.info("job %s (%s) came back; already printed here, reporting it", job_id, code)
            self.journal.record(job_id, "printed", lease_token=lease, tracking_code=code)
            self.report_printed(job_id, lease, code)
            return True
        document = self.download(job_id, lease, code)
        if document is None:
            return True
        self.journal.record(job_id, "printing", lease_token=lease, tracking_code=code,
                            document_type=job["document_type"])
        try:
            where = self.printer.hand_over(job_id, document.content)
        except PrinterFault as fault:
            log.error("job %s (%s): printer fault: %s", job_id, code, fault)
            # not printed, whatever the service answers: the journal says so
            self.journal.record(job_id, "failed", lease_token=lease, tracking_code=code)
            self.report_failed(job_id, lease, code, fault.reason, str(fault))
            self.pause_after_fault()
            return True
        except PrinterInDoubt as doubt:
            # the spooler may still print it: reported failed, the job would
            # go to another station - two cards. It stays "printing" (the
            # printer may have it): reported printed by ``recover`` before
            # the next claim, as after a crash mid-print; no card coming out
            # is for an operator's reprint
            log.error("job %s (%s): the printer may still print it (%s): not reported failed; "
                      "it is reported printed - if no card comes out, an operator reprints "
                      "it", job_id, code, doubt)
            self.journal.record(job_id, "printing", lease_token=lease, tracking_code=code,
                                document_type=job["document_type"], in_doubt=str(doubt))
            self.pause_after_fault()
            return True
        self.after_hand_over(job_id)
        self.journal.record(job_id, "printed", lease_token=lease, tracking_code=code)
        log.info("job %s (%s) printed: %s", job_id, code, where)
        self.report_printed(job_id, lease, code)
        return True

    def claim(self) -> Answer:
        """A claim under this round's ``Idempotency-Key``. A claim that got
        no answer or a 5xx may have leased a job all the same (its
        answer lost on the way): it is sent again with the same key, before
        anything else, until it is answered - the service then answers the
        job it leased under the key, not another (docs/station-api.md,
        "Claim a job"), so no job sits leased to this station unknown for
        its whole lease. A key outlives a step that ends unanswered: the
        next claim sends it again. Answered 200 or a 4xx, the next round
        gets a fresh key; after a 204 the same key serves again (nothing was
        leased under it: an idle station writes no key a poll).

        Each key is kept beside the journal before its first claim
        (``Journal.keep_claim_key``), and the first claim after a start
        sends the last one again: the job of a claim answered just before a
        crash - downloading, not yet journalled ``printing`` - comes back to
        this station at once, not after its lease (outside audit: two of
        twelve jobs sat leased to a restarted station for 600 s, an attempt
        each used). A key whose jobs are over makes an ordinary claim."""
        if self.claim_key is None:
            self.claim_key = uuid.uuid4().hex
            self.journal.keep_claim_key(self.claim_key)
        for attempt in range(1, CLAIM_ATTEMPTS + 1):
            claimed = self.api.claim(self.claim_key)
            if not unanswered(claimed):
                if claimed.status != 204:
                    self.claim_key = None
                return claimed
            if attempt < CLAIM_ATTEMPTS:  # after the last, the step waits
                self.wait_after(claimed, "claim")
        log.warning("claim not answered after %d tries; sent again with the same key next",
                    CLAIM_ATTEMPTS)
        return claimed

    def pause_after_fault(self) -> None:
        log.warning("printer fault: claiming nothing for %.0f s", self.fault_pause_seconds)
        self.sleep(self.fault_pause_seconds)

    def download(self, job_id: str, lease: str, code: str) -> Answer | None:
        """The job's PDF under this lease, or None: the lease lost (journalled
        ``lost``), the job gone or refused to this station (a 4xx: 404, a KIA
        whose photo is missing). An answer that may come right later (no
        answer, 5xx, 429, a 503 while a KIA's photo is fetched) is asked
        again under the same lease after its Retry-After - downloading again
        is safe - up to ``DOWNLOAD_ATTEMPTS`` times; then the job is left to
        its lease running out."""
        for _ in range(DOWNLOAD_ATTEMPTS):
            document = self.api.download(job_id, lease)
            if document.status == 200:
                return document
            if document.status == 401:
                raise TokenRefused()
            log.warning("job %s (%s): download answered %s %s", job_id, code, document.status,
                        document.code)
            if document.lease_lost:
                self.journal.record(job_id, "lost", lease_token=lease, tracking_code=code)
                return None
            if final(document):
                return None
            self.wait_after(document, "download")
        log.warning("job %s (%s): no document after %d tries; the job returns to the queue "
                    "when its lease runs out", job_id, code, DOWNLOAD_ATTEMPTS)
        return None

    def report_failed(self, job_id: str, lease: str, code: str, reason: str,
                      note: str) -> None:
        """Tell the service the job was not printed (so it goes back to the
        queue now, not when its lease runs out); an answer that may come
        right later is retried (a 409 on a retry: done already)."""
        for _ in range(REPORT_ATTEMPTS):
            answer = self.api.failed(job_id, lease, reason, note)
            if answer.status in (200, 409):  # 409: the lease ended already
                return
            if answer.status == 401:
                raise TokenRefused()
            if final(answer):
                break
            self.wait_after(answer, "failure report")
        log.warning("job %s (%s): the failure report was answered %s %s; the job returns "
                    "to the queue when its lease runs out", job_id, code, answer.status,
                    answer.code)

    def report_printed(self, job_id: str, lease: str, code: str,
                       attempts: int = REPORT_ATTEMPTS) -> str:
        """Tell the service; the journal keeps the job ``printed`` until it
        heard. The outcome: ``REPORTED``, ``LOST`` (the lease went to another
        station: a 409 naming ``lease_token``, nothing else), ``REFUSED``
        (another 4xx, the service's 404 ``not_found`` among them: kept
        ``printed`` for the next start and an operator) or ``UNHEARD`` (no
        answer, 5xx, 429, a 404 that is not the service's word on the job -
        a proxy's ``unknown_path``, a balancer mid-redeploy - after
        ``attempts`` tries: ``recover`` tries again before the next claim)."""
        for _ in range(attempts):
            answer = self.api.printed(job_id, lease)
            if answer.status == 200:
                self.journal.record(job_id, "reported", lease_token=lease, tracking_code=code)
                slot = (answer.body or {}).get("slot")
                log.info("job %s (%s) reported printed%s", job_id, code,
                         f"; pickup {slot['date']} {slot['start']}" if slot else "")
                return REPORTED
            if answer.status == 401:
                raise TokenRefused()
            if answer.lease_lost:  # only a 409 naming lease_token says so
                log.warning("job %s (%s): the lease went to another station; destroy this "
                            "card per Dinas procedure", job_id, code)
                self.journal.record(job_id, "lost", lease_token=lease, tracking_code=code)
                return LOST
            if answer.status == 404 and answer.code != "not_found":
                # not the service's answer about the job (a proxy's unknown
                # path, a balancer mid-redeploy): asked again, the card kept
                self.wait_after(answer, "report")
                continue
            if final(answer) and answer.code != "no_pickup_slot":
                log.error("job %s (%s): report refused %s %s", job_id, code, answer.status,
                          answer.code)
                self.refused.add(job_id)
                return REFUSED  # stays "printed": retried at the next start, an operator looks
            self.wait_after(answer, "report")
        log.warning("job %s (%s): report not confirmed yet; retried before the next claim",
                    job_id, code)
        return UNHEARD

    def wait_after(self, answer: Answer, what: str) -> None:
        seconds = answer.retry_after or self.retry_seconds
        log.warning("%s answered %s; waiting %.1f s", what, answer.status or "nothing", seconds)
        self.sleep(seconds)

    def run(self, poll_seconds: float, until_idle: bool = False) -> None:
        while True:
            if not self.step():  # idle: nothing claimed, nothing left unheard
                if until_idle:
                    return
                self.sleep(poll_seconds)
