"""Where a document goes: a CUPS queue (``lp``) or a folder.

Either way ``hand_over`` returns once the document is on paper (or on the
disk), raises ``PrinterFault`` when it certainly is not and never will be,
and ``PrinterInDoubt`` when it cannot tell (the spooler may still print it).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Callable

# what lp says once CUPS holds the job: "request id is KARTU_1-42 (1 file(s))"
_REQUEST_ID = re.compile(r"request id is (\S+)")
# job-state-reasons (RFC 8011 5.3.8) of a job that ended on paper
_PRINTED = frozenset({"job-completed-successfully", "job-completed-with-warnings"})


class PrinterFault(Exception):
    """The document is not on paper and will not be; the message is safe to
    report. ``reason``: the failure report's (``out_of_blanko`` where CUPS
    says the media ran out, else ``printer_fault``)."""

    def __init__(self, message: str, reason: str = "printer_fault"):
        super().__init__(message)
        self.reason = reason


class PrinterInDoubt(Exception):
    """The spooler took the document (or may have) and its fate is unknown:
    reporting it failed would send the job to another station while this
    printer may still print it - two cards."""


class CupsPrinter:
    """``lp -d QUEUE``: CUPS spools the PDF and prints it (cards: the card
    printer's queue, with its driver's ID-1 media; certificates: A4).

    ``lp`` exits 0 once the spooler has the file, printed or not: with the
    queue stopped (CUPS' stop-printer error policy: out of blanko, a jam)
    every job would have counted as printed. So the job is followed until
    CUPS says it ended (``lpstat``, polled every ``poll_seconds`` for at
    most ``wait_seconds``): completed is printed; cancelled or aborted, or
    a stopped queue (the job cancelled first, so that it is not printed
    when someone restarts the queue after the job went to another
    station), is a ``PrinterFault``; anything else - lp timing out, the job
    still waiting when the wait ends, a cancel not confirmed, an ended job
    CUPS kept no history of - is ``PrinterInDoubt``."""

    def __init__(self, queue: str, timeout: float = 60, wait_seconds: float = 300,
                 poll_seconds: float = 2, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.queue, self.timeout = queue, timeout
        self.wait_seconds, self.poll_seconds = wait_seconds, poll_seconds
        self.sleep, self.clock = sleep, clock

    def hand_over(self, job_id: str, document: bytes) -> str:
        request = self._submit(job_id, document)
        deadline = self.clock() + self.wait_seconds
        while not self._ended(request):
            stopped = self._stopped()
            if stopped is not None:
                return self._cancel(request, *stopped)
            if self.clock() >= deadline:
                raise PrinterInDoubt(f"CUPS job {request} not done after "
                                     f"{self.wait_seconds:.0f} s")
            self.sleep(self.poll_seconds)
        return request

    def _run(self, *command: str, input: bytes | None = None) -> subprocess.CompletedProcess:
        # the C locale: lp's and lpstat's words ("request id is", "disabled") as read here
        return subprocess.run(command, input=input, capture_output=True, timeout=self.timeout,
                              env={**os.environ, "LC_ALL": "C", "LANG": "C"})

    def _submit(self, job_id: str, document: bytes) -> str:
        try:
            done = self._run("lp", "-d", self.queue, "-t", job_id, "-", input=document)
        except OSError as exc:  # no lp: nothing reached the spooler
            raise PrinterFault(f"lp: {type(exc).__name__}") from None
        except Exception as exc:  # noqa: BLE001 - lp ran and gave no answer: the spooler
            # may have the job. Its TimeoutExpired is caught as any exception:
            # under eventlet (the tests) it is another copy of subprocess' class
            raise PrinterInDoubt(f"lp: {type(exc).__name__} within {self.timeout:.0f} s") \
                from None
        if done.returncode != 0:
            raise PrinterFault(f"lp exited {done.returncode}: "
                               f"{done.stderr.decode(errors='replace').strip()}")
        found = _REQUEST_ID.search(done.stdout.decode(errors="replace"))
        if found is None:
            raise PrinterInDoubt("lp named no CUPS job")
        return found[1]

    def _lpstat(self, *args: str) -> str | None:
        """lpstat's output, or None when it could not answer (asked again later)."""
        try:
            done = self._run("lpstat", *args)
        except Exception:  # noqa: BLE001 - not started or timed out (as in ``_submit``)
            return None
        return done.stdout.decode(errors="replace") if done.returncode == 0 else None

    def _ended(self, request: str) -> bool:
        """True once ``request`` completed on paper; False while CUPS still
        has it to do, or cannot be asked; a fault for one cancelled or aborted."""
        waiting = self._lpstat("-W", "not-completed", "-o", self.queue)
        if waiting is None or request in (line.split()[0] for line in waiting.splitlines()
                                          if line.strip() and not line[0].isspace()):
            return False
        ended = self._lpstat("-W", "completed", "-l", "-o", self.queue)
        reasons = None if ended is None else _alerts(ended, request)
        if reasons is None:
            raise PrinterInDoubt(f"CUPS job {request} ended; CUPS kept no outcome of it")
        if reasons & _PRINTED:
            return True
        if any("canceled" in reason or "aborted" in reason for reason in reasons):
            raise PrinterFault(f"CUPS job {request} ended unprinted: {' '.join(sorted(reasons))}")
        raise PrinterInDoubt(f"CUPS job {request} ended: {' '.join(sorted(reasons)) or '?'}")

    def _stopped(self) -> tuple[str, str] | None:
        """(what CUPS says, the failure reason) while the queue is stopped
        (disabled), else None."""
        status = self._lpstat("-l", "-p", self.queue)
        if status is None or not status.startswith(f"printer {self.queue} disabled"):
            return None
        alerts = _alerts(status, f"printer {self.queue}") or set()
        blanko = any(alert.startswith(("media-empty", "media-needed")) for alert in alerts)
        said = " ".join(line.strip() for line in status.splitlines()[:2])
        return said, "out_of_blanko" if blanko else "printer_fault"

    def _cancel(self, request: str, said: str, reason: str) -> str:
        """Cancel ``request`` in a stopped queue; the fault once CUPS confirms
        it will not print (or its id, should it have printed meanwhile)."""
        try:
            self._run("cancel", request)
        except Exception:  # noqa: BLE001 - whether it went is asked below
            pass
        try:
            if self._ended(request):
                return request
        except PrinterFault:
            raise PrinterFault(f"queue stopped: {said}", reason) from None
        raise PrinterInDoubt(f"queue stopped ({said}); CUPS job {request} not cancelled")


def _alerts(output: str, entry: str) -> set[str] | None:
    """The words of the ``Alerts:`` line under the line starting with
    ``entry`` (a job id, ``printer QUEUE``) in lpstat's long output; None
    when no such line."""
    inside = False
    for line in output.splitlines():
        if line and not line[0].isspace():
            if inside:
                return set()
            inside = line.split()[0] == entry or line.startswith(entry + " ")
        elif inside and line.strip().startswith("Alerts:"):
            return set(line.split(":", 1)[1].split())
    return set() if inside else None


class FolderPrinter:
    """A folder, for a station without a printer configured (or a test): each
    hand-over is a new file ``<job id>.pdf`` (``<job id>.2.pdf`` ... should
    the same job come again: a second file shows a second print, never
    overwrites the first)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def hand_over(self, job_id: str, document: bytes) -> str:
        for copy in range(1, 1000):
            path = self.folder / (f"{job_id}.pdf" if copy == 1 else f"{job_id}.{copy}.pdf")
            try:
                handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            except FileExistsError:
                continue
            except OSError as exc:
                raise PrinterFault(f"folder: {exc.strerror}") from None
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(document)
                    out.flush()
                    os.fsync(out.fileno())
            except OSError as exc:  # a full disk, an I/O error on a share: not printed
                path.unlink(missing_ok=True)
                raise PrinterFault(f"folder: {exc.strerror or type(exc).__name__}") from None
            return str(path)
        raise PrinterFault("folder: too many copies of one job")
