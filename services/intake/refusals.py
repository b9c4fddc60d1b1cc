"""The population register as an oracle, limited.

Why a submission is refused tells the citizen what to correct - "NIK
pemohon tidak terdaftar pada No. KK ini", "tercatat telah meninggal dunia"
- and so tells anyone who submits what the register holds about a NIK or
KK. The answer stays specific (a citizen needs it); the asking is limited.
A citizen's own submission (``POST /api/v1/applications``) whose refusal
the register's answers took part in (the register knew a NIK or KK of it,
``population.Lookup.answered``) counts against three keys at once: the
client (``REGISTER_REFUSALS_PER_CLIENT``, default 30), the applicant's KK
and the applicant's NIK (``REGISTER_REFUSALS_PER_KK`` / ``_PER_NIK``,
default 10 each), within ``REGISTER_REFUSAL_WINDOW_SECONDS`` (default
3600). Past any of them the submission is refused with 429 and
``Retry-After`` before the register is asked. Refusals the register had
no part in (a format error, a date in the future) are not counted, nor are
accepted submissions. In memory, per process, as ``shared.ratelimit``
explains; officers' batches and next-day requests (authenticated, scoped)
are not limited.
"""

from __future__ import annotations

from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from shared.errors import DomainError, Msg, TooManyAttempts
from shared.ratelimit import Attempts, FailureLimit, client_address, trusted_proxies


class TooManyRefusals(TooManyAttempts):
    """429 as for failed attempts, worded for refused applications."""

    def __init__(self, retry_after: int):
        DomainError.__init__(self, Msg(
            "Terlalu banyak permohonan yang ditolak karena data kependudukan. "
            f"Coba lagi dalam {retry_after} detik.",
            "Too many applications refused on the population register's data. "
            f"Retry in {retry_after} seconds."))
        self.retry_after = retry_after


@dataclass(frozen=True)
class SubmissionLimit:
    """One submission's keys (``screening.Limit``)."""
    attempts: Attempts
    keys: dict

    def check(self) -> None:
        try:
            self.attempts.check(**self.keys)
        except TooManyAttempts as exc:
            raise TooManyRefusals(exc.retry_after) from None

    def refused(self) -> None:
        self.attempts.failed(**self.keys)


class RegisterRefusals(DependencyProvider):
    def setup(self):
        config = self.container.config
        window = float(config.get("REGISTER_REFUSAL_WINDOW_SECONDS", 3600))
        self.attempts = Attempts(
            client=FailureLimit(int(config.get("REGISTER_REFUSALS_PER_CLIENT", 30)), window),
            kk=FailureLimit(int(config.get("REGISTER_REFUSALS_PER_KK", 10)), window),
            nik=FailureLimit(int(config.get("REGISTER_REFUSALS_PER_NIK", 10)), window))
        self.proxies = trusted_proxies(config)

    def of(self, request, body: dict) -> SubmissionLimit:
        """The limit of a citizen's submission (its body as loaded)."""
        applicant = body["applicant"]
        return SubmissionLimit(self.attempts, {"client": client_address(request, self.proxies),
                                               "kk": applicant["kk_number"],
                                               "nik": applicant["nik"]})

    def get_dependency(self, worker_ctx):
        return self
