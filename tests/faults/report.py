"""What a fault test saw, as the table printed in the test command's output
and as the list of promises it found broken."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from deploy.local.stack import Stack
from tests.faults.journeys import Journeys
from tests.faults.outcomes import Tally, logs_mention


@dataclass
class Outcome:
    journeys: Journeys
    tally: Tally
    timings: list[tuple[str, float, float]]  # (fault, seconds it lasted, seconds to deliver again)
    drain_seconds: float
    total_seconds: float
    gave_up: list[str]  # why the supervisor gave up, if it did
    unfinished: str | None  # why the faults or the drain did not get through, if so
    outbox: dict[str, int]  # rows left per service database
    dead_letters: dict[str, int]  # per handler queue (and why), only those with any
    leaks: list[str]  # personal data found in the logs, masked
    said: list[str]  # what the supervisor said
    unprinted: Counter  # jobs of verified applications the station did not print, by state

    def problems(self, stack: Stack, slowest_allowed: float) -> list[str]:
        """Every promise the faults broke, a line each (all of them, not just the first)."""
        journeys, tally = self.journeys, self.tally
        accepted = journeys.accepted()
        problems = [f"the supervisor gave up: {reason}" for reason in self.gave_up]
        # the test kills with -9; any other exit is a process that fell over by itself
        problems += [f"a process died by itself: {line}" for line in self.said
                     if "exited with code" in line and "code -9" not in line]
        if self.unfinished:
            problems.append(f"did not recover and drain: {self.unfinished}")
            if self.unprinted:
                problems.append(f"jobs the station did not print, by state: {dict(self.unprinted)}")
        problems += [f"a client got a 5xx other than 503: {error}"
                     for error in journeys.server_errors[:10]]
        problems += [f"a client got what it should not have: {answer}"
                     for answer in journeys.unexpected[:10]]
        if self.slowest("all") >= slowest_allowed:
            problems.append(f"a client waited {slowest_allowed:g}s or more for an answer "
                            f"(slowest per phase: {journeys.slowest})")
        problems += [f"{len(codes)} applications got more than one {what}: {codes[:10]}"
                     for what, codes in tally.more_than_one(accepted).items() if codes]
        exact = tally.exactly_one(accepted)
        if exact != dict.fromkeys(exact, len(accepted)) or not all(c.verified for c in accepted):
            problems.append(f"of {len(accepted)} applications answered 202, with exactly one: "
                            f"{exact}")
        if sum(tally.jobs.values()) != len(accepted):
            problems.append(f"{sum(tally.jobs.values())} print jobs for {len(accepted)} "
                            "applications")
        problems += [f"{n} message(s) dead-lettered in {queue}"
                     for queue, n in self.dead_letters.items() if n]
        problems += [f"{n} event(s) left in the {name} outbox"
                     for name, n in self.outbox.items() if n]
        problems += [f"{name}.log does not say it was restarted"
                     for name in ("intake", "printing", "notification")
                     if f"supervisor: restarted {name}" not in stack.log_path(name).read_text()]
        # the logs are there and speak of these applications...
        sample = [c.tracking_code for c in accepted[:20]]
        if not sample or logs_mention(stack, sample) != len(sample):
            problems.append("the services' logs do not mention the applications' tracking codes")
        # ...without their personal data
        return problems + [f"personal data in the logs: {leak}" for leak in self.leaks]

    def slowest(self, phase: str) -> float:
        if phase == "all":
            return max((took for took, _ in self.journeys.slowest.values()), default=0.0)
        return self.journeys.slowest.get(phase, (0.0, ""))[0]

    def summary(self, phases: list[str]) -> str:
        journeys = self.journeys
        rows = [f"{'phase (applications sent during it)':<34} {'sent':>5} {'202':>5} "
                f"{'job=1':>6} {'SMS=1':>6} {'mail=1':>6} {'tl ok':>6} {'503':>5} {'conn':>5} "
                f"{'t/o':>4} {'5xx':>4} {'slowest':>8}"]
        for phase in [*phases, "all"]:
            sent = [c for c in journeys.citizens if phase in ("all", c.phase)]
            exact = self.tally.exactly_one([c for c in sent if c.application_id])
            answers = Counter()
            for (when, _step, outcome), count in journeys.answers.items():
                if phase in ("all", when):
                    answers[answer_kind(outcome)] += count
            rows.append(f"{phase:<34} {len(sent):>5} "
                        f"{sum(bool(c.application_id) for c in sent):>5} "
                        f"{exact['print job']:>6} {exact['SMS']:>6} {exact['e-mail']:>6} "
                        f"{exact['timeline']:>6} {answers['503']:>5} {answers['conn']:>5} "
                        f"{answers['t/o']:>4} {answers['5xx']:>4} {self.slowest(phase):>7.1f}s")
        rows.append("(503/conn/t/o/5xx: answers to requests sent during the phase, each "
                    "retried; 5xx = any but 503; slowest: the longest wait for an HTTP answer)")
        rows += [f"{label}: fault lasted {lasted:.1f}s, SMS delivered again {back:.1f}s after; "
                 f"slowest answer: {journeys.slowest.get(label, (0, '-'))[1]}"
                 for label, lasted, back in self.timings]
        rows.append(f"drain {self.drain_seconds:.1f}s; whole test {self.total_seconds:.0f}s; "
                    f"dead letters {sum(self.dead_letters.values())}; outbox rows left "
                    f"{sum(self.outbox.values())}; personal data in logs: {len(self.leaks)}; "
                    f"e-mails resent with their Message-ID: {self.tally.email_resends}")
        return "\n".join(rows + self.said)


def answer_kind(outcome) -> str | None:
    """How the summary counts an answer: 503, a connection error, a client
    timeout, another 5xx; None for the rest."""
    kinds = {503: "503", "connection error": "conn", "timeout": "t/o"}
    if outcome in kinds:
        return kinds[outcome]
    return "5xx" if isinstance(outcome, int) and outcome >= 500 else None
