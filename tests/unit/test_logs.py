"""The logging filter: the last line of defence for personal data."""

from __future__ import annotations

import io
import logging

import pytest

from shared.errors import Conflict, Msg
from shared.logs import PersonalDataFilter, error_line
from shared.masking import mask_text

NIK, KK = "3673045207900001", "3673041201100003"
PHONES = ("081234567890", "6281234567890", "+6281234567890", "0812-3456-7890", "0812 3456 7890",
          "+62 812 3456 7890")


@pytest.fixture
def logged():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter())
    logger = logging.getLogger(f"test_logs.{id(stream)}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_identity_numbers_and_phones_are_masked_in_messages_and_arguments(logged):
    logger, stream = logged
    logger.debug("insert {'applicant': {'nik': '%s', 'kk_number': '%s'}}", NIK, KK)
    for phone in PHONES:
        logger.info("contact %s", phone)
    text = stream.getvalue()
    assert NIK not in text and KK not in text
    assert not any(phone in text for phone in PHONES)
    assert "3673********0001" in text and "+6281******890" in text


def test_a_traceback_with_a_chained_database_error_is_masked(logged):
    logger, stream = logged
    try:
        try:
            raise ValueError(f"E11000 duplicate key dup key: {{ applicant.nik: \"{NIK}\" }}")
        except ValueError as exc:
            raise RuntimeError(f"while storing {KK}") from exc
    except RuntimeError:
        logger.exception("unexpected")
    text = stream.getvalue()
    assert "Traceback" in text and "E11000" in text
    assert NIK not in text and KK not in text


def test_an_expected_error_is_one_line_without_its_traceback(logged):
    logger, stream = logged
    try:
        raise Conflict(Msg("Sudah ada.", "Exists.")) from ValueError(NIK)
    except Conflict:
        logger.warning("(expected) error handling worker", exc_info=True)
    text = stream.getvalue()
    assert "Traceback" not in text and NIK not in text
    assert text.count("\n") == 1


@pytest.mark.parametrize("typed", ["3673-0412-0110-0003", "3673 0412 0110 0003",
                                   "3673.0412.0110.0003", "367304 1201100003",
                                   "367304 120110 0003", "36.73.04.120110.0003"])
def test_a_grouped_identity_number_is_masked_as_one(typed):
    # an operator's note typed "KK 3673-0412-0110-0003" reached the citizen's
    # e-mail and timeline in full (outside audit)
    assert mask_text(f"KK {typed}, cek ulang") == "KK 3673********0003, cek ulang"


@pytest.mark.parametrize("harmless", [
    # dates, times and amounts in an operator's note were masked as a NIK (outside audit)
    "Silakan datang 01.12.2026 08.00-15.00 ke loket", "Antara 01.12.2026 02.12.2026 ke loket",
    "Rp 1.000.000.000.000.000", "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6",
    "2026-11-29 08:00:01,123", "SDK7KQ2M9XA",
                                      "a7f3c2e1b4d59687123456789012345678", "port 27018", "12345"])
def test_ordinary_numbers_are_left_alone(harmless):
    assert mask_text(harmless) == harmless


def test_query_string_secrets_leave_the_access_log_redacted(logged):
    """The web server's access log wrote a station's lease token and every
    checked card's QR token (whose payload names its holder) in full."""
    logger, stream = logged
    qr = "SDK1.dev-20261201.eyJ0Ijoia3RwX2VsIiwiaCI6IlNpdGkgQW1pbmFoIn0.db0B3EuPGSJjbuQ"
    logger.info('127.0.0.1 - - "GET /api/v1/verify?token=%s HTTP/1.1" 200 512', qr)
    logger.info('"GET /api/v1/station/jobs/abc/document.pdf?lease_token=jnG5CJVa_If6u5&x=1 '
                'HTTP/1.1" 200 5933')
    text = stream.getvalue()
    assert qr not in text and "jnG5CJVa_If6u5" not in text
    assert "/api/v1/verify?token=*** HTTP/1.1" in text
    assert "document.pdf?lease_token=***&x=*** HTTP/1.1" in text


def test_a_request_lines_unknown_parameters_and_digits_in_its_path_are_masked(logged):
    """A client's mistakes reached the access log whole (outside audit N1): a
    NIK glued to a path segment, a token or a NIK in a parameter no endpoint
    takes, the WhatsApp handshake's verify token. The documented filters
    stay readable."""
    logger, stream = logged
    logger.info('127.0.0.1 - - "GET /api/v1/x%s HTTP/1.1" 404 10', NIK)
    logger.info('"GET /api/v1/operator/applications?status=submitted&access_token=dev-op-tok'
                f'&nik={NIK}&email=siti@example.id&limit=50 HTTP/1.1" 200 99')
    logger.info('"GET /webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=s3kr1t'
                '&hub.challenge=ch4ll3nge HTTP/1.1" 200 10')
    text = stream.getvalue()
    for secret in (NIK, "dev-op-tok", "siti@", "s3kr1t"):
        assert secret not in text
    assert f'"GET /api/v1/x{NIK[:4]}********{NIK[-4:]} HTTP/1.1" 404' in text
    assert ("?status=submitted&access_token=***&nik=***&email=***&limit=50 HTTP/1.1"
            in text)
    assert "?hub.mode=subscribe&hub.verify_token=***&hub.challenge=ch4ll3nge " in text


def test_our_ids_in_a_request_line_stay_whole_a_number_glued_to_one_does_not(logged):
    """Outside audit R2: a job's id with a run of 8 digits in it was logged
    "f8bdef5400**4837af2..." and could not be found; a phone number's run
    (10 digits and more) inside an id-shaped segment is still masked."""
    logger, stream = logged
    job = "f8bdef54004837af2ae58239de3074aa"
    logger.info(f'"POST /api/v1/station/jobs/{job}/printed HTTP/1.1" 200 10')
    logger.info(f'"GET /api/v1/jobs/{NIK}abcdefabcdefab/x HTTP/1.1" 404 10')
    text = stream.getvalue()
    assert f"/jobs/{job}/printed " in text
    assert NIK not in text and f"{NIK[:4]}********{NIK[-4:]}abcdefabcdefab" in text


def test_our_ids_stay_whole_in_the_logs_a_nik_glued_into_one_does_not(logged):
    """Outside audit R2: job and application ids came out of the access log
    as "f4670**4784f406cb4395*9163a7228c" (digits in them read as a phone,
    a landline, a long run) and could not be found."""
    logger, stream = logged
    ids = ["daaa474ceeaa4b7fb36920123475a2fc", "f46700123447844f406cb4395a9163a7",
           "56979c89790123456792ce7e13f48dc5"]
    for found in ids:
        logger.info(f'"POST /api/v1/station/jobs/{found}/printed HTTP/1.1" 200 10')
        logger.info("print job %s held: the lease ran out", found)
    logger.info(f'"GET /api/v1/jobs/{NIK}abcdefabcdefabcd/x HTTP/1.1" 404 10 {PHONES[0]}')
    text = stream.getvalue()
    for found in ids:
        assert text.count(found) == 2, (found, text)
    assert NIK not in text and f"{NIK[:4]}********{NIK[-4:]}abcdefabcdefabcd" in text
    assert PHONES[0] not in text


def test_an_id_with_16_digits_that_are_no_nik_stays_whole_one_holding_a_nik_does_not(logged):
    """Outside audit S1: the courier logged "dead-lettering event
    5381533480fb4152********6785cd6f" - 16 digits in an event's id (uuid4
    hex) read as a NIK - and the line could not be matched to ``deploy.dlq
    show``. A NIK or KK put inside a 32-hex-digit string is still masked."""
    logger, stream = logged
    ids = ["5381533480fb415a9913482705716448",  # no province 99
           "c3673045213900001deadbeefcafebab",  # no month 13
           "ab99134827057164481234cdefabcdef"]  # 20 digits, no 16 of them a NIK
    for found in ids:
        logger.error("dead-lettering event %s on courier.events: DeliveryFailed", found)
        logger.info(f'"GET /api/v1/jobs/{found}/x HTTP/1.1" 404 10')
    glued = [f"abcdef{NIK}abcdefabcd", f"ab12{NIK}cdefabcdefab", f"abcdef{KK}abcdefabcd"]
    for found in glued:
        logger.error("dead-lettering event %s on courier.events: DeliveryFailed", found)
        logger.info(f'"GET /api/v1/jobs/{found}/x HTTP/1.1" 404 10')
    text = stream.getvalue()
    for found in ids:
        assert text.count(found) == 2, (found, text)
    assert NIK not in text and KK not in text
    assert text.count(f"abcdef{NIK[:4]}********{NIK[-4:]}abcdefabcd") == 2
    assert text.count(f"ab12{NIK[:2]}{'*' * 10}{NIK[-4:]}cdefabcdefab") == 2  # 18 digits


def test_a_request_lines_percent_encoded_numbers_addresses_and_named_values_are_masked(logged):
    """Outside audit N4: a NIK percent-encoded in a path, an e-mail address
    or a dashed phone number in a path, and an address sent as a
    parameter's name were still logged whole."""
    logger, stream = logged
    encoded = "".join(f"%{ord(digit):X}" for digit in NIK)
    logger.info('"GET /api/v1/%s HTTP/1.1" 404 10', encoded)
    logger.info('"GET /api/v1/x/siti@example.id/0812-3456-7890 HTTP/1.1" 404 10')
    logger.info('"GET /api/v1/x?siti%40example.id=2&status=held HTTP/1.1" 404 10')
    text = stream.getvalue()
    for secret in (encoded, NIK, "siti@", "siti%40", "3456-7890"):
        assert secret not in text, secret
    assert "?***=***&status=held HTTP/1.1" in text


def test_a_request_line_cannot_write_a_line_of_its_own_into_the_log(logged):
    """Outside audit G1: the target read percent-decoded turned ``%0A`` into
    a line break - a forged log line after it - and ``%00`` into a NUL."""
    logger, stream = logged
    forged = "%0A2026-12-04%2015:33:00,000%20intake%20ERROR%20FORGED"
    logger.info('"GET /api/v1/nothing%s HTTP/1.1" 404 10', forged)
    logger.info('"GET /api/v1/x%0D%0Ay%00z%1B%7F HTTP/1.1" 404 10')
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith('"GET /api/v1/nothing%0A2026-12-04 15:33:00,000 intake ERROR')
    assert '/api/v1/x%0D%0Ay%00z%1B%7F HTTP/1.1" 404' in lines[1]
    assert not any(ord(c) < 0x20 or c == "\x7f" for c in stream.getvalue().replace("\n", ""))


def test_every_documented_query_parameter_keeps_its_value_in_the_log():
    """Each query schema's parameters are known harmless (list filters,
    paging): an operator reading the access log sees what was asked. The
    secret ones are not: ``lease_token``, ``token``; nor the operators'
    lookups: a NIK, a tracking code (``QueueQuerySchema``'s ``LOOKUPS``)."""
    from services.courier.schemas import ShipmentQuerySchema, StuckQuerySchema
    from services.intake.api_appointments import AvailabilitySchema
    from services.intake.api_operator import QueueQuerySchema, ReasonsQuerySchema
    from services.notification.schemas import FailedQuerySchema
    from services.printing.api_documents import LeaseQuerySchema, TokenQuerySchema
    from shared.logs import LOGGED_QUERY_PARAMETERS
    def names(*schemas):
        return {field.data_key or name for schema in schemas
                for name, field in schema().fields.items()}
    from services.intake.queue_schemas import LOOKUPS
    assert names(FailedQuerySchema, ShipmentQuerySchema, StuckQuerySchema, QueueQuerySchema,
                 ReasonsQuerySchema, AvailabilitySchema) - set(LOOKUPS) <= LOGGED_QUERY_PARAMETERS
    assert names(LeaseQuerySchema, TokenQuerySchema).isdisjoint(LOGGED_QUERY_PARAMETERS)
    assert set(LOOKUPS).isdisjoint(LOGGED_QUERY_PARAMETERS)


def test_landlines_and_dotted_or_bracketed_mobiles_are_masked_in_logs(logged):
    # only mobiles with spaces or dashes were (outside audit); the rule is
    # shared.masking's, tested there on both sides
    logger, stream = logged
    logger.warning("note %r at %s", "kantor (0254) 200123, HP 0812.3456.7891",
                   "2026-11-29T14:05:00+07:00")
    assert stream.getvalue() == \
        "note 'kantor 0254***123, HP 08123****891' at 2026-11-29T14:05:00+07:00\n"


def test_an_error_in_one_line_masked_and_short():
    assert error_line(ConnectionRefusedError(111, "Connection refused")) == \
        "ConnectionRefusedError: [Errno 111] Connection refused"
    assert error_line(KeyError()) == "KeyError"
    described = error_line(RuntimeError(f"no answer for {NIK} at 081234567890\n  more\n"))
    assert described == "RuntimeError: no answer for 3673********0001 at 08123****890"
    assert len(error_line(RuntimeError("x" * 5000))) == 200


@pytest.mark.parametrize("error", [
    "services.notification.exceptions:DeliveryFailed", "services.courier.exceptions:PosUnavailable",
    "services.intake.population:RegisterUnavailable", "pymongo.errors:AutoReconnect"])
def test_a_partner_or_database_out_of_reach_is_one_line_without_its_traceback(logged, error):
    """nameko logs each failed attempt of an event's handler with its
    traceback ("error handling worker ..."), and the retry logs its own line
    naming the cause: an SMS gateway's outage wrote ~30 lines per message
    per attempt. An expected outage is the one line; a bug keeps its trace."""
    import importlib
    module, name = error.split(":")
    logger, stream = logged
    try:
        raise getattr(importlib.import_module(module), name)("sms gateway answered 503")
    except Exception as exc:
        logger.exception("error handling worker <WorkerContext ...>: %s", exc)
    try:
        {}["missing"]
    except KeyError as exc:
        logger.exception("error handling worker <WorkerContext ...>: %r", exc)
    first, *rest = stream.getvalue().splitlines()
    assert first == "error handling worker <WorkerContext ...>: sms gateway answered 503"
    assert rest[0].startswith("error handling worker") and "Traceback" in rest[1], rest


# what a client puts in an access line: targets with a NIK, KK or phone
# (whole, grouped, glued to a word or an id, percent-encoded), secrets and
# addresses in the query, our ids, encoded control characters
_TARGETS = (
    "/api/v1/applications/status", f"/api/v1/x{NIK}", f"/api/v1/jobs/{NIK}abcdefabcdefab/x",
    "/api/v1/station/jobs/f8bdef54004837af2ae58239de3074aa/printed",
    "/api/v1/operator/applications?status=submitted&access_token=dev-op-tok"
    f"&nik={NIK}&email=siti@example.id&limit=50",
    "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=s3kr1t&hub.challenge=ch4ll3nge",
    "/api/v1/nothing%0A2026-12-04%2015:33:00,000%20intake%20ERROR%20FORGED%00",
    "/api/v1/%33%36%37%33%30%34%35%32%30%37%39%30%30%30%30%31", "/api/v1/x/siti%40example.id",
    "/a/3673-0412-0110-0003/b?kk=3673%200412%200110%200003", "/c/0812.3456.7890?to=+62%20812",
    "/d?limit=5&cursor=abc%22def", '/e"quoted" HTTP/1.0 /f')
_CLIENTS = ("127.0.0.1", "10.20.30.40", "::1", f"{NIK},127.0.0.1", "+6281234567890,10.0.0.1",
            "0812-3456-7890,192.168.1.20", "siti@example.id,127.0.0.1", "unknown,1.2.3.4")


def _access_fields(rng) -> dict:
    target = rng.choice(_TARGETS)
    if rng.random() < 0.5:  # a random one: pieces of the above and of anything
        pieces = [rng.choice(_TARGETS), rng.choice(PHONES), NIK, KK, "%0A", "@", "?", "&", "=",
                  "-", ".", " ", "/", "%20", "f" * 32, str(rng.randrange(10 ** 20))]
        target = "/" + "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 8)))
    return {"client_ip": rng.choice(_CLIENTS + PHONES), "client_port": rng.randrange(65536),
            "date_time": f"{rng.randrange(1, 29):02d}/Dec/2026 {rng.randrange(24):02d}:"
                         f"{rng.randrange(60):02d}:{rng.randrange(60):02d}",
            "request_line": f"{rng.choice(('GET', 'POST', 'PATCH'))} {target} HTTP/1.1",
            "status_code": rng.choice((200, 202, 400, 404, 503)),
            "body_length": rng.randrange(100000),
            "wall_seconds": rng.random() * rng.choice((1, 100))}


def test_an_access_line_is_masked_as_its_whole_text_would_be(logged):
    """eventlet's access line is kept as its fields (``AccessLine``) and only
    the client's two - its address, its request line - are masked, each once
    for its text: they are written as masking the whole line writes them. The
    server's own fields are written as they are: masking the whole line took
    a length and the seconds ("404 62888 0.940417") for a phone number. No
    NIK or KK is left whole, whatever it is glued to."""
    import random

    from eventlet.wsgi import DEFAULT_LOG_FORMAT

    from shared.logs import ACCESS_FORMAT, masked
    assert ACCESS_FORMAT == DEFAULT_LOG_FORMAT  # the same line eventlet writes
    logger, stream = logged
    rng, compared = random.Random(52), 0
    for _ in range(3000):
        fields = _access_fields(rng)
        logger.info(ACCESS_FORMAT % fields)
        written = stream.getvalue().splitlines()[-1]
        own = f" {fields['status_code']} {fields['body_length']} {fields['wall_seconds']:.6f}"
        assert written.endswith(own), written
        whole = masked(DEFAULT_LOG_FORMAT % fields)
        if whole.endswith(own):  # masking the whole line left the server's fields alone
            assert written == whole
            compared += 1
    assert compared > 2900, compared
    # a NIK or KK glued to anything, or behind two spaces before the version
    text = stream.getvalue()
    assert NIK not in text and KK not in text and "s3kr1t" not in text
    logger.info(ACCESS_FORMAT % {"client_ip": "::1", "client_port": 1, "date_time": "x",
                                 "request_line": "GET /x HTTP/1.1", "status_code": 404,
                                 "body_length": 62888, "wall_seconds": 0.940417})
    assert stream.getvalue().endswith('"GET /x HTTP/1.1" 404 62888 0.940417\n')


def test_a_request_line_is_masked_to_its_version_and_last_quote(logged):
    """The target was cut at its first space: two spaces before the version
    (a request the server reads as any other) left a NIK glued to a hex
    string whole, and an encoded control character hid the phone after it."""
    logger, stream = logged
    logger.info(f'"GET /x/{NIK}{"f" * 32}  HTTP/1.1" 200 10')
    logger.info('"GET /x/a%0A+62%20812%203456%207890 HTTP/1.1" 404 10')
    logger.info(f'"GET /e"quoted" /f{KK}ab HTTP/1.1" 404 10')
    lines = stream.getvalue().splitlines()
    assert lines[0] == f'"GET /x/{NIK[:4]}********{NIK[-4:]}{"f" * 32}  HTTP/1.1" 200 10'
    assert lines[1] == '"GET /x/a%0A+6281******890 HTTP/1.1" 404 10'
    assert lines[2] == f'"GET /e"quoted" /f{KK[:4]}********{KK[-4:]}ab HTTP/1.1" 404 10'
