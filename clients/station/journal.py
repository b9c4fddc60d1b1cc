"""The station's local journal: what happened to each job, on disk before it matters.

One JSON object per line, appended, flushed and fsync'd before the agent
does the next thing, so what the journal says survives a crash, a kill -9 or
a power cut of the station PC. The agent writes ``printing`` *before* it
hands a document to the printer and ``printed`` after; so whatever the last
line about a job, the agent knows whether the printer may have it:

    printing  -> it may have been printed: never print again, report printed
    printed   -> printed, the report may not have reached the service: report it
    reported  -> done (if the job comes back, an operator sent it again - a
                 reprint of a document missing or spoiled: print it then)
    failed    -> not printed, reported failed (the job may come back: print it then)
    lost      -> the lease went to another station (a printed card is destroyed
                 per Dinas procedure); if the job comes back, print it then

A crash while a line is being written leaves a torn last line; it is ignored
on reading (it was never acted on: each step acts only after its line is
durable).

Bounded: a station runs for months, so the journal does not keep every job
it ever printed. A job whose story is over (``reported``, ``failed``,
``lost``) is kept for the last ``KEEP_SETTLED`` such jobs only - days of one
station's work, so a job that comes back soon after its report is still
known - and older ones are forgotten, in memory and on disk: once the file
holds more than twice the lines of what is kept, it is rewritten with only
the last line of each job kept (a new file, fsync'd, then renamed over the
old one, so a crash leaves one or the other whole). A job the printer may
have (``printing``, ``printed``) is never forgotten.

Beside it, ``<journal>.claim`` holds the last claim round's
``Idempotency-Key`` (``keep_claim_key``): the agent's first claim after a
start sends it again, so a job leased just before a crash comes back.
"""

from __future__ import annotations

import collections
import datetime
import json
import os
from pathlib import Path

PRINTER_MAY_HAVE_IT = ("printing", "printed")
# settled jobs (reported, failed, lost) remembered, the newest: at ~1,000
# prints a day, about ten days of one station's work (~1 KB of memory each,
# ~12 MB in all, and a file of at most twice that many lines)
KEEP_SETTLED = 10_000


class Journal:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.keep = KEEP_SETTLED
        self.entries: dict[str, dict] = {}  # job id -> its last entry
        self._settled: collections.OrderedDict[str, None] = collections.OrderedDict()
        created = not self.path.exists()
        text = "" if created else self.path.read_text(encoding="utf-8", errors="replace")
        self._lines = 0  # lines in the file
        if not created:
            for line in text.splitlines():
                self._lines += 1
                try:
                    entry = json.loads(line)
                    self._remember(entry["job"], entry)
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line from a crash mid-write
        self._file = open(self.path, "a", encoding="utf-8")
        if text and not text.endswith("\n"):
            self._sync("\n")  # end the torn line, or the next entry would join it
        if created:
            self._sync_directory()  # the new file's name must survive a crash too
        self._compact_if_due()

    def record(self, job_id: str, state: str, **fields) -> None:
        """Append ``state`` for the job; returns once it is on disk."""
        entry = {"job": job_id, "state": state,
                 "at": datetime.datetime.now(datetime.timezone.utc).isoformat(), **fields}
        self._sync(json.dumps(entry, ensure_ascii=False) + "\n")
        self._lines += 1
        self._remember(job_id, entry)
        self._compact_if_due()

    def _remember(self, job_id: str, entry: dict) -> None:
        """``entry`` is the job's last; the oldest settled jobs beyond
        ``keep`` are forgotten."""
        self.entries.pop(job_id, None)
        self.entries[job_id] = entry
        self._settled.pop(job_id, None)
        if entry.get("state") in PRINTER_MAY_HAVE_IT:
            return
        self._settled[job_id] = None
        while len(self._settled) > self.keep:
            forgotten, _ = self._settled.popitem(last=False)
            del self.entries[forgotten]

    def _compact_if_due(self) -> None:
        """Rewrite the file with what is kept once it holds more than twice that."""
        if self._lines <= 2 * max(len(self.entries), self.keep):
            return
        fresh = self.path.with_name(self.path.name + ".compacting")
        with open(fresh, "w", encoding="utf-8") as out:
            out.writelines(json.dumps(entry, ensure_ascii=False) + "\n"
                           for entry in self.entries.values())
            out.flush()
            os.fsync(out.fileno())
        self._file.close()
        os.replace(fresh, self.path)
        self._sync_directory()
        self._file = open(self.path, "a", encoding="utf-8")
        self._lines = len(self.entries)

    def _sync_directory(self) -> None:
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def _sync(self, text: str) -> None:
        self._file.write(text)
        self._file.flush()
        os.fsync(self._file.fileno())

    def claim_key_path(self) -> Path:
        return self.path.with_name(self.path.name + ".claim")

    def last_claim_key(self) -> str | None:
        """The ``Idempotency-Key`` of the last claim round (``keep_claim_key``),
        if one was kept."""
        try:
            return self.claim_key_path().read_text(encoding="ascii").strip() or None
        except (OSError, UnicodeDecodeError):
            return None

    def keep_claim_key(self, key: str) -> None:
        """``key`` on disk before the claim it goes with is sent: a job that
        claim leases, answered just before a crash and not journalled yet,
        comes back to the claim that sends the key again after the restart
        (the service answers the jobs still on its lease). Beside the
        journal, in a file of its own (the journal's lines stay one per
        job), replaced whole: a crash leaves the old key or the new one."""
        fresh = self.claim_key_path().with_name(self.claim_key_path().name + ".new")
        with open(fresh, "w", encoding="ascii") as out:
            out.write(key + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(fresh, self.claim_key_path())
        self._sync_directory()

    def state(self, job_id: str) -> str | None:
        entry = self.entries.get(job_id)
        return entry["state"] if entry else None

    def unreported(self) -> list[dict]:
        """Jobs the printer may have and the service has not confirmed."""
        return [entry for entry in self.entries.values() if entry["state"] in PRINTER_MAY_HAVE_IT]

    def close(self) -> None:
        self._file.close()
