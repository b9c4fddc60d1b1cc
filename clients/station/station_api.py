"""The printing service's station API, as the agent uses it (docs/station-api.md).

One session, a timeout on every call. ``Answer`` carries what the agent
decides on: the status, the JSON body (or the PDF) and the error code.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from shared.text_rules import one_line

NOTE_LIMIT = 300  # the service's, in characters (docs/station-api.md, Report failed)


@dataclass
class Answer:
    status: int  # 0: no answer (network error, timeout)
    body: dict | None = None
    content: bytes = b""
    retry_after: float | None = None

    @property
    def lease_lost(self) -> bool:
        return self.status == 409 and "lease_token" in ((self.body or {}).get("error") or {}).get(
            "fields", {})

    @property
    def code(self) -> str | None:
        return ((self.body or {}).get("error") or {}).get("code")


class StationApi:
    def __init__(self, url: str, token: str, timeout: float = 30):
        self.url = url.rstrip("/") + "/api/v1/station/jobs"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}",
                                     "User-Agent": "smartdukcapil-station-agent/1"})

    def _call(self, method: str, path: str, **kwargs) -> Answer:
        try:
            response = self.session.request(method, self.url + path, timeout=self.timeout,
                                            **kwargs)
        except requests.RequestException:
            return Answer(0)
        retry_after = response.headers.get("Retry-After")
        body = None
        if response.headers.get("Content-Type", "").startswith("application/json"):
            try:
                body = response.json()
            except ValueError:
                body = None
        return Answer(response.status_code, body, response.content,
                      float(retry_after) if retry_after and retry_after.isdigit() else None)

    def claim(self, key: str | None = None) -> Answer:
        """One job. ``key``: the claim round's ``Idempotency-Key`` - sent
        again after no answer, the service answers the job it leased then."""
        return self._call("POST", "/claim", headers={"Idempotency-Key": key} if key else None)

    def download(self, job_id: str, lease_token: str) -> Answer:
        return self._call("GET", f"/{job_id}/document.pdf", params={"lease_token": lease_token})

    def printed(self, job_id: str, lease_token: str) -> Answer:
        return self._call("POST", f"/{job_id}/printed", json={"lease_token": lease_token})

    def failed(self, job_id: str, lease_token: str, reason: str, note: str | None = None) -> Answer:
        """``reason``: one of the service's (docs/station-api.md: misprint,
        out_of_blanko, printer_fault, data_error); ``note``: free text, sent
        as one line cut to the limit - the service refuses a line break (lp's
        stderr of several lines) with a 400 that no retry changes."""
        body = {"lease_token": lease_token, "reason": reason}
        note = one_line(note or "")[:NOTE_LIMIT].rstrip()
        return self._call("POST", f"/{job_id}/failed", json={**body, "note": note} if note else body)

    def close(self) -> None:
        self.session.close()
