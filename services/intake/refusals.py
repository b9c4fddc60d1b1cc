"""The population register - and what intake itself holds of a NIK - as an
oracle, limited.

Why a submission is refused tells the citizen what to correct - "NIK
pemohon tidak terdaftar pada No. KK ini", "tercatat telah meninggal dunia"
- and so tells anyone who submits what the register holds about a NIK or
KK. So do intake's own refusals about a NIK: an application for it still
in progress (409), a KTP-el already issued to it (``card_already_issued``).
The answer stays specific (a citizen needs it); the asking is limited.

A submission whose refusal the register's answers took part in (the
register knew a NIK or KK of it, ``population.Lookup.answered``), or that
was refused for what intake holds of a NIK it names
(``screening.Screening.telling``), counts against every NIK and KK the
application names (the applicant's, and a child's, a parent's, the
deceased's ... in its details: ``REGISTER_REFUSALS_PER_NIK`` / ``_PER_KK``,
default 10 each) and, over HTTP, against the client (its address, an IPv6
one by its /64: ``shared.ratelimit.client_address``;
``REGISTER_REFUSALS_PER_CLIENT``, default 30), within
``REGISTER_REFUSAL_WINDOW_SECONDS`` (default 3600). A recording booking
(``of_booking``) is screened in the same counts: its NIK and KK, its client.

* Past a NIK's or KK's limit the register is not asked about an
  application naming it: the application is accepted, flagged
  ``register_withheld``, and the operator checks it by hand (as when the
  register is down). Right guess or wrong, the answer is the same 202, so
  it tells nothing - and strangers' wrong guesses at a family's KK never
  lock the family out.
* A client past its limit is refused 429 before the register is asked.

* A booking naming a NIK or KK past its limit is refused 429: a booking
  holds a day's place and its NIK, which nobody checks by hand after, so it
  is never made without the register confirming the NIK on the KK
  (``appointments.confirm_owner``).
* Intake's own 409s about a NIK are still answered past its limit: its
  owner, submitting twice by mistake, must be told; the client's limit is
  what slows a stranger asking.

Refusals that tell nothing of a NIK or KK (a format error, a date in the
future) are not counted, nor are accepted submissions here: those have a
limit of their own (``SUBMITS_PER_CLIENT`` new applications per client over
HTTP within ``SUBMITS_WINDOW_SECONDS``, ``TooManySubmissions``: each costs
an SMS or e-mail and a place in the operators' queue). The broker channel
(the portal's and the apps' back-ends, each one client for all their
citizens) counts the NIKs and KKs only. In memory, per process, shared by
HTTP's container and the channel's, as ``shared.ratelimit`` explains;
officers' batches and next-day requests (authenticated, scoped) are not
limited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from shared.errors import Msg, TooManyAttempts
from shared.ratelimit import FailureLimit, client_address, trusted_proxies
from shared.settings import integer, seconds

NUMBER = re.compile(r"\d{16}")


class TooManyRefusals(TooManyAttempts):
    """429 as for failed attempts, worded for refused applications."""

    too_many = Msg("Terlalu banyak permohonan yang ditolak karena data kependudukan.",
                   "Too many applications refused on the population register's data.")


class TooManySubmissions(TooManyAttempts):
    """429 as for failed attempts, worded for applications accepted."""

    too_many = Msg("Terlalu banyak permohonan baru dari sambungan ini.",
                   "Too many new applications from this connection.")


def named_numbers(body: dict) -> list[tuple[str, str]]:
    """Every NIK and KK a submission names, as (limit, number): the
    applicant's and any in its details (a field named ``kk_number`` is a KK,
    any other 16-digit value a NIK: ``child_nik``, ``mother_nik``,
    ``witnesses`` ...)."""
    applicant = body["applicant"]
    named = {("nik", applicant["nik"]), ("kk", applicant["kk_number"])}
    for name, value in (body.get("details") or {}).items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and NUMBER.fullmatch(item.strip()):
                named.add(("kk" if name == "kk_number" else "nik", item.strip()))
    return sorted(named)


@dataclass(frozen=True)
class SubmissionLimit:
    """One submission's (or booking's) keys (``screening.Limit``)."""
    limits: dict[str, FailureLimit]
    client: str | None  # None: the broker channel
    numbers: list[tuple[str, str]]

    def check(self) -> None:
        """Before the register is asked: the client's own limit."""
        if self.client is not None and (wait := self.limits["client"].retry_after(self.client)):
            raise TooManyRefusals(wait)

    def withheld(self) -> bool:
        """A NIK or KK it names is past its limit: the register is not asked."""
        return self.withheld_for() > 0

    def withheld_for(self) -> int:
        """Seconds until no NIK or KK it names is past its limit (0: none is)."""
        return max((self.limits[kind].retry_after(number) for kind, number in self.numbers),
                   default=0)

    def refused(self) -> None:
        """A refusal told what the register (or intake) holds: counted."""
        for kind, number in self.numbers:
            self.limits[kind].failed(number)
        if self.client is not None:
            self.limits["client"].failed(self.client)


# one count per process for HTTP's container and the channel's (a NIK
# refused over one is refused over the other), per configuration
_COUNTS: dict[tuple, dict[str, FailureLimit]] = {}


class RegisterRefusals(DependencyProvider):
    def setup(self):
        config = self.container.config
        settings = (integer(config, "REGISTER_REFUSALS_PER_CLIENT", 30, minimum=1),
                    integer(config, "REGISTER_REFUSALS_PER_KK", 10, minimum=1),
                    integer(config, "REGISTER_REFUSALS_PER_NIK", 10, minimum=1),
                    seconds(config, "REGISTER_REFUSAL_WINDOW_SECONDS", 3600, positive=True))
        if settings not in _COUNTS:
            per_client, per_kk, per_nik, window = settings
            _COUNTS[settings] = {"client": FailureLimit(per_client, window),
                                 "kk": FailureLimit(per_kk, window),
                                 "nik": FailureLimit(per_nik, window)}
        self.limits = _COUNTS[settings]
        self.proxies = trusted_proxies(config)

    def of(self, request, body: dict) -> SubmissionLimit:
        """The limit of a citizen's submission over HTTP (its body as loaded)."""
        return SubmissionLimit(self.limits, client_address(request, self.proxies),
                               named_numbers(body))

    def of_booking(self, request, body: dict) -> SubmissionLimit:
        """The limit of a recording booking over HTTP (``BookingSchema`` loaded):
        its client, its NIK and KK."""
        return SubmissionLimit(self.limits, client_address(request, self.proxies),
                               [("kk", body["kk_number"]), ("nik", body["nik"])])

    def of_channel(self, body: dict) -> SubmissionLimit:
        """The limit of a submission through the broker channel: its NIKs and KKs."""
        return SubmissionLimit(self.limits, None, named_numbers(body))

    def get_dependency(self, worker_ctx):
        return self
