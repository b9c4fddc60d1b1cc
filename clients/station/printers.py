"""Where a document goes: a CUPS queue (``lp``) or a folder.

Either way ``hand_over`` returns once the printer (or the disk) has the
document, or raises ``PrinterFault`` when it certainly does not.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class PrinterFault(Exception):
    """The document did not reach the printer; the message is safe to report."""


class CupsPrinter:
    """``lp -d QUEUE``: CUPS spools the PDF and prints it (cards: the card
    printer's queue, with its driver's ID-1 media; certificates: A4)."""

    def __init__(self, queue: str, timeout: float = 60):
        self.queue, self.timeout = queue, timeout

    def hand_over(self, job_id: str, document: bytes) -> str:
        try:
            done = subprocess.run(["lp", "-d", self.queue, "-t", job_id, "-"], input=document,
                                  capture_output=True, timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PrinterFault(f"lp: {type(exc).__name__}") from None
        if done.returncode != 0:
            raise PrinterFault(f"lp exited {done.returncode}: "
                               f"{done.stderr.decode(errors='replace').strip()[:200]}")
        return done.stdout.decode(errors="replace").strip()  # "request id is QUEUE-42 (1 file(s))"


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
