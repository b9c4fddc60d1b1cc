"""A steady stream of KTP-el applications through the whole journey, driven
as the outside clients drive it: citizens submit with an Idempotency-Key, an
operator verifies each application, a printing station claims jobs and
reports them printed. Like any well-behaved client, each retries on 503 (after
its Retry-After) and on a connection error or timeout, for a bounded time.

Every answer is counted per phase of the fault test (``phase``), and every
answer a client should never see is kept: a 5xx other than 503, an
unexpected 4xx, a client that gave up.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests

from tests.helpers import OPERATOR, STATION, random_kk, random_mobile, random_nik

RETRY_BUDGET = 120.0  # seconds a client keeps retrying one request
CLIENT_TIMEOUT = 15.0  # a request that hangs longer counts as a timeout, then retried


class ClientGaveUp(Exception):
    pass


@dataclass
class Citizen:
    nik: str
    kk: str
    phone: str
    email: str
    phase: str  # when the application was sent
    started: float = field(default_factory=time.monotonic)
    application_id: str | None = None  # set on its 202
    tracking_code: str | None = None
    verified: bool = False

    def application(self) -> dict:
        return {"document_type": "ktp_el", "channel": "web",
                "applicant": {"nik": self.nik, "kk_number": self.kk, "full_name": "Siti Aminah",
                              "phone": self.phone, "email": self.email},
                "details": {"reason": "first_issue"}}


class Journeys:
    def __init__(self, intake_url: str, printing_url: str, rate: float):
        self.intake, self.printing, self.rate = intake_url, printing_url, rate
        self.phase = "steady"
        self.citizens: list[Citizen] = []
        self.answers: Counter = Counter()  # (phase, step, status code or error) -> count
        self.slowest: dict[str, tuple[float, str]] = {}  # phase -> (seconds, what) of its slowest answer
        self.server_errors: list[str] = []  # any 5xx but 503
        self.unexpected: list[str] = []  # answers no client should get
        self.printed: dict[str, set[str]] = {}  # application id -> print job ids printed
        self._applying, self._running = threading.Event(), threading.Event()
        self._threads: list[threading.Thread] = []
        self._journeys: list[threading.Thread] = []

    # -- control ---------------------------------------------------------------

    def start(self) -> None:
        self._applying.set()
        self._running.set()
        self._threads = [threading.Thread(target=loop, daemon=True)
                         for loop in (self._apply_loop, self._station_loop)]
        for thread in self._threads:
            thread.start()

    def stop_applying(self) -> None:
        self._applying.clear()
        self._threads[0].join()

    def stop(self) -> None:
        self._applying.clear()
        self._running.clear()
        for thread in self._threads:
            thread.join()

    def busy(self) -> int:
        """Journeys still submitting or verifying."""
        return sum(thread.is_alive() for thread in self._journeys)

    def accepted(self) -> list[Citizen]:
        return [citizen for citizen in self.citizens if citizen.application_id]

    # -- the clients -----------------------------------------------------------

    def _apply_loop(self) -> None:
        used, next_at = set(), time.monotonic()
        while self._applying.is_set():
            nik = random_nik(female=random.random() < 0.5)
            if nik in used:
                continue  # one active application per NIK: keep the stream's NIKs apart
            used.add(nik)
            citizen = Citizen(nik, random_kk(), random_mobile(),
                              f"warga.{uuid.uuid4().hex[:12]}@example.id", self.phase)
            self.citizens.append(citizen)
            journey = threading.Thread(target=self._journey, args=(citizen,), daemon=True)
            journey.start()
            self._journeys.append(journey)
            next_at += 1 / self.rate
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _journey(self, citizen: Citizen) -> None:
        try:
            submitted = self._call("submit", "POST", f"{self.intake}/api/v1/applications",
                                   json=citizen.application(),
                                   headers={"Idempotency-Key": uuid.uuid4().hex})
            if submitted.status_code != 202:
                return self._unexpected("submit", submitted)
            citizen.application_id = submitted.json()["application_id"]
            citizen.tracking_code = submitted.json()["tracking_code"]
            verified = self._call(
                "verify", "POST", f"{self.intake}/api/v1/applications/{citizen.application_id}/verify",
                headers=OPERATOR, done_on_conflict=True)
            if verified.status_code != 200 and not getattr(verified, "done_by_earlier", False):
                return self._unexpected("verify", verified)
            citizen.verified = True
        except ClientGaveUp as exc:
            self.unexpected.append(f"{citizen.phase}: {exc}")

    def _station_loop(self) -> None:
        while self._running.is_set():
            try:
                claim = self._call("claim", "POST", f"{self.printing}/api/v1/station/jobs/claim",
                                   headers=STATION)
                if claim.status_code == 204:
                    time.sleep(0.5)  # nothing to print yet
                    continue
                if claim.status_code != 200:
                    self._unexpected("claim", claim)
                    time.sleep(0.5)
                    continue
                job = claim.json()
                report = self._call(
                    "printed", "POST",
                    f"{self.printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
                    json={"lease_token": job["lease_token"]}, headers=STATION)
                if report.status_code == 200:
                    self.printed.setdefault(job["application_id"], set()).add(job["print_job_id"])
                elif report.status_code != 409:  # 409: lease lost; the job is claimed again
                    self._unexpected("printed", report)
            except ClientGaveUp as exc:
                self.unexpected.append(f"{self.phase}: {exc}")

    def _call(self, step: str, method: str, url: str, done_on_conflict: bool = False,
              **kwargs) -> requests.Response:
        """One client request, retried on 503, connection errors and timeouts.

        ``done_on_conflict``: a 409 after a retry means an earlier attempt went
        through (its answer was lost): the response is marked ``done_by_earlier``.
        """
        deadline, retried = time.monotonic() + RETRY_BUDGET, False
        while True:
            response, pause = None, 0.5 + random.random() / 2
            phase, sent = self.phase, time.monotonic()  # counted in the phase it was sent in
            try:
                response = requests.request(method, url, timeout=CLIENT_TIMEOUT, **kwargs)
                outcome = response.status_code
                took = time.monotonic() - sent
                if took > self.slowest.get(phase, (0.0, ""))[0]:
                    self.slowest[phase] = (took, f"{step} -> {outcome}")
            except requests.Timeout:
                outcome = "timeout"
            except requests.ConnectionError:
                outcome = "connection error"
            self.answers[(phase, step, outcome)] += 1
            if response is not None:
                if response.status_code >= 500 and response.status_code != 503:
                    self.server_errors.append(f"{phase}: {step} -> {response.status_code} "
                                              f"{response.text[:300]}")
                elif response.status_code == 503:
                    pause = min(float(response.headers.get("Retry-After", 1)), 5.0)
                else:
                    response.done_by_earlier = (done_on_conflict and retried
                                                and response.status_code == 409)
                    return response
            if time.monotonic() + pause > deadline:
                raise ClientGaveUp(f"{step}: still {outcome} after {RETRY_BUDGET:.0f}s")
            retried = True
            time.sleep(pause)

    def _unexpected(self, step: str, response: requests.Response) -> None:
        self.unexpected.append(f"{self.phase}: {step} -> {response.status_code} "
                               f"{response.text[:300]}")
