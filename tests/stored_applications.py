"""Applications as intake stores them, and moves applied the way the store
applies them, for the unit tests of intake's decisions (no I/O)."""

from __future__ import annotations

from services.intake.domain import Transition, new_application, reject
from services.intake.rules import validate_application
from services.intake.schemas import ApplicationRequestSchema
from shared.clock import today_wib

NIK = "3673045207900001"
OPERATOR = "operator-curug-7"
CODES = ["kk_unreadable"]
ADDRESS = {"street": "Jl. Raya Curug No. 5", "rt": "002", "rw": "004",
           "kelurahan_code": "3673041001", "postal_code": "42171"}


def submitted(delivery: dict | None = None, details: dict | None = None, **applicant) -> dict:
    """A KTP-el application as the service stores it (through the schema and the rules)."""
    body = {"document_type": "ktp_el", "channel": "web",
            "details": details or {"reason": "first_issue"},
            "applicant": {"nik": NIK, "kk_number": "3673041201100003",
                          "full_name": "Siti Aminah", "phone": "081234567890", **applicant}}
    if delivery:
        body["delivery"] = delivery
    request = ApplicationRequestSchema().load(body)
    return new_application(request, validate_application(request, today_wib()), None)


def apply(application: dict, move: Transition) -> dict:
    """``application`` after ``move``, written as the store writes it."""
    return {**application, **move.changes, **move.fields,
            "timeline": [*application["timeline"], move.step]}


def rejected(app: dict | None = None) -> dict:
    app = app or submitted()
    return apply(app, reject(app, OPERATOR, CODES))
