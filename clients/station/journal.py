"""The station's local journal: what happened to each job, on disk before it matters.

One JSON object per line, appended, flushed and fsync'd before the agent
does the next thing, so what the journal says survives a crash, a kill -9 or
a power cut of the station PC. The agent writes ``printing`` *before* it
hands a document to the printer and ``printed`` after; so whatever the last
line about a job, the agent knows whether the printer may have it:

    printing  -> it may have been printed: never print again, report printed
    printed   -> printed, the report may not have reached the service: report it
    reported  -> done
    failed    -> not printed, reported failed (the job may come back: print it then)
    lost      -> the lease went to another station (a printed card is destroyed
                 per Dinas procedure); if the job comes back, print it then

A crash while a line is being written leaves a torn last line; it is ignored
on reading (it was never acted on: each step acts only after its line is
durable).
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

PRINTER_MAY_HAVE_IT = ("printing", "printed")


class Journal:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.entries: dict[str, dict] = {}  # job id -> its last entry
        created = not self.path.exists()
        text = "" if created else self.path.read_text(encoding="utf-8", errors="replace")
        if not created:
            for line in text.splitlines():
                try:
                    entry = json.loads(line)
                    self.entries[entry["job"]] = entry
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line from a crash mid-write
        self._file = open(self.path, "a", encoding="utf-8")
        if text and not text.endswith("\n"):
            self._sync("\n")  # end the torn line, or the next entry would join it
        if created:
            # the new file's name must survive a crash too
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def record(self, job_id: str, state: str, **fields) -> None:
        """Append ``state`` for the job; returns once it is on disk."""
        entry = {"job": job_id, "state": state,
                 "at": datetime.datetime.now(datetime.timezone.utc).isoformat(), **fields}
        self._sync(json.dumps(entry, ensure_ascii=False) + "\n")
        self.entries[job_id] = entry

    def _sync(self, text: str) -> None:
        self._file.write(text)
        self._file.flush()
        os.fsync(self._file.fileno())

    def state(self, job_id: str) -> str | None:
        entry = self.entries.get(job_id)
        return entry["state"] if entry else None

    def unreported(self) -> list[dict]:
        """Jobs the printer may have and the service has not confirmed."""
        return [entry for entry in self.entries.values() if entry["state"] in PRINTER_MAY_HAVE_IT]

    def close(self) -> None:
        self._file.close()
