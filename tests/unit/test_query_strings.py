"""Query strings are read one way (``shared.http.read_query``) by every GET
endpoint that takes parameters, every service's: a parameter given more
than once, or one the endpoint does not know, is a 400 naming it - never
its first value taken, never ignored - and nothing is read before (public
verification ignores one it does not know: ``TokenQuerySchema``)."""

from __future__ import annotations

import pytest
from marshmallow import RAISE, Schema, fields
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.courier.service import CourierApi
from services.intake.service import IntakeApi
from services.printing.service import PrintingApi
from shared.errors import REPEATED_PARAMETER, ValidationFailed
from shared.http import NOT_UTF8_PARAMETER, read_query
from shared.text_rules import CONTROL_CHARACTER
from shared.offices import WorkingCalendar


def request(query: str) -> Request:
    return Request(EnvironBuilder(method="GET", query_string=query).get_environ())


class StatusQuery(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(load_default="submitted")


def refused(call) -> dict:
    with pytest.raises(ValidationFailed) as error:
        call()
    return error.value.fields


def test_a_query_is_loaded_through_its_schema():
    assert read_query(request("status=verified"), StatusQuery()) == {"status": "verified"}
    assert read_query(request(""), StatusQuery()) == {"status": "submitted"}


def test_a_parameter_given_twice_is_refused_naming_it():
    fields_ = refused(lambda: read_query(request("status=submitted&status=verified"),
                                         StatusQuery()))
    assert fields_ == {"status": [REPEATED_PARAMETER]}
    assert REPEATED_PARAMETER.en == "Given more than once."


def test_an_unknown_parameter_and_a_control_character_are_refused_naming_them():
    assert list(refused(lambda: read_query(request("x=1"), StatusQuery()))) == ["x"]
    assert refused(lambda: read_query(request("status=a%0Ab"), StatusQuery())) == {
        "status": [CONTROL_CHARACTER]}


class Untouchable:
    """A store (or any dependency) the refused request must never reach."""

    def __getattr__(self, name):
        raise AssertionError(f"read {name} for a refused query")


class Anyone:
    def authenticate(self, request):
        return "op-1"


def worker(service):
    """The endpoint's ``self``: tokens accepted, everything else untouchable."""
    class Worker(service):
        store = Untouchable()
        operators = kelurahan_officers = document_readers = stations = Anyone()
        calendar = WorkingCalendar()
    return Worker.__new__(Worker)


# every GET endpoint of intake and courier that takes query parameters
ENDPOINTS = [
    (IntakeApi, IntakeApi.list_queue, "status=submitted&status=verified", "status"),
    (IntakeApi, IntakeApi.list_queue, "statuss=verified", "statuss"),
    (IntakeApi, IntakeApi.reason_catalogue, "document_type=kia&document_type=ktp_el",
     "document_type"),
    (IntakeApi, IntakeApi.reason_catalogue, "x=1", "x"),
    (IntakeApi, IntakeApi.recording_availability, "place_id=kec-curug&place_id=kec-serang",
     "place_id"),
    (IntakeApi, IntakeApi.recording_availability, "place_id=kec-curug&x=1", "x"),
    (CourierApi, CourierApi.list_shipments, "status=held&status=pending", "status"),
    (CourierApi, CourierApi.list_shipments, "x=1", "x"),
    (CourierApi, CourierApi.list_shipments, "cursor=not-a-cursor", "cursor"),
    (CourierApi, CourierApi.stuck_shipments, "days=3&days=5", "days"),
    (CourierApi, CourierApi.stuck_shipments, "days=3&x=1", "x"),
]


@pytest.mark.parametrize("service, endpoint, query, named", ENDPOINTS)
def test_every_get_endpoint_refuses_a_repeated_or_unknown_parameter(service, endpoint, query,
                                                                    named):
    assert list(refused(lambda: endpoint(worker(service), request(query)))) == [named]


# every operator's, officer's or reader's GET endpoint that takes no query
# parameter (shared.http.read_no_query), with its path's arguments
WITHOUT_PARAMETERS = [
    (IntakeApi, IntakeApi.application_detail, ("app-1",)),
    (IntakeApi, IntakeApi.list_documents, ("app-1",)),
    (IntakeApi, IntakeApi.download_document, ("app-1", "doc-1")),
    (IntakeApi, IntakeApi.get_batch, ("batch-1",)),
    (IntakeApi, IntakeApi.batch_applications, ("batch-1",)),
    (CourierApi, CourierApi.shipment, ("P26120800001",)),
    (CourierApi, CourierApi.manifest, ("MAN-1",)),
    (PrintingApi, PrintingApi.print_job, ("job-1",)),
    (PrintingApi, PrintingApi.prr_import_refusals, ("imp-1",)),
    (PrintingApi, PrintingApi.prr_aging, ()),
]


@pytest.mark.parametrize("service, endpoint, path", WITHOUT_PARAMETERS,
                         ids=lambda value: getattr(value, "__name__", None))
def test_an_endpoint_without_parameters_refuses_one_naming_it(service, endpoint, path):
    """Outside audit (fifty-third session): these answered 200 and ignored
    ``?as_of=x`` or ``?foo=1`` - an operator could believe a filter was
    applied - where the print job's and the lists' endpoints refused it."""
    assert list(refused(lambda: endpoint(worker(service), request("as_of=x"), *path))) == \
        ["as_of"]


def test_a_stations_download_refuses_a_parameter_it_does_not_take():
    """It ignored one (its schema excluded unknown fields) while a lease
    token given twice was refused: an agent's mistake went unseen."""
    query = request("lease_token=q3Zr8V1cS0yXbP2m&as_of=x")
    assert list(refused(lambda: PrintingApi.download_document(worker(PrintingApi), query,
                                                              "job-1"))) == ["as_of"]


def raw_request(query: bytes) -> Request:
    """A request whose query string holds the bytes as sent (WSGI carries
    them as latin-1), a raw byte over 0x7f included."""
    environ = EnvironBuilder(method="GET").get_environ()
    environ["QUERY_STRING"] = query.decode("latin-1")
    return Request(environ)


def test_a_query_string_not_in_utf8_is_refused_naming_the_parameter():
    """Outside audit: ``GET /api/v1/verify?token=<0xff>`` (a raw byte, not
    ``%ff``) answered 500 and logged a traceback on every service's GET
    endpoints - werkzeug decodes the query string strictly - where every
    other malformed parameter is a 400 naming it."""
    fields_ = refused(lambda: read_query(raw_request(b"status=a\xffb"), StatusQuery()))
    assert fields_ == {"status": [NOT_UTF8_PARAMETER]}
    assert list(refused(lambda: read_query(raw_request(b"status=a&x\xff=1"),
                                           StatusQuery()))) == ["x\ufffd"]
    assert NOT_UTF8_PARAMETER.en == "Must be UTF-8 text."
