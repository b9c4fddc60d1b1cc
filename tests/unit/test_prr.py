"""Unit tests for services.printing.prr: the PRR export and the aging report."""

from __future__ import annotations

import datetime

import pytest

from services.printing import prr
from services.printing.prr import (REFUSALS, NotAPrrFile, age_band, aging, announcement,
                                   event_payload, imported_again, phone_arrived,
                                   refused_view)
from shared.errors import ValidationFailed
from shared.events import PRR_REFUSALS, build_event
from shared.http import text_problem

TODAY = datetime.date(2026, 11, 30)
HEADER = "nik,full_name,kecamatan_code,recorded_on,street,rt,rw,kelurahan_code,postal_code,phone\n"
GOOD = "3673041207050001,Rudi Hartono,367304,2026-11-01,Jl. Raya Curug No. 7,001,002,3673041010,42171,081234567890\n"


def parse(text: str, today: datetime.date, lang: str = "id") -> prr.ParsedFile:
    """The file as the import reads it: with the text rule of every body."""
    return prr.parse(text, today, lang, text_problem=text_problem)


def test_good_rows_bad_rows_and_repeats_by_row_number():
    text = (HEADER + GOOD
            + "3673041207050002,Siti Aminah,367304,2026-01-05,Jl. Sukajaya 3,,,3673041010,,\n"
            + "12345,Nobody,367304,2026-01-05,Jl. Sukajaya 3,,,3673041010,,\n"
            + GOOD.replace("Rudi Hartono", "Rudi H.")
            + "3673041207050003,Ani,367304,2027-01-01,Jl. Sukajaya 3,,,3673041010,,\n"
            + "3673041207050004,Ani,367302,2026-01-01,Jl. Sukajaya 3,,,3673041010,,\n")
    parsed = parse(text, TODAY, "en")
    assert [record["row"] for record in parsed.records] == [2, 3]
    assert parsed.records[0]["phone"] == "+6281234567890"
    assert parsed.records[1]["phone"] is None
    assert parsed.repeated == [{"row": 5, "same_as_row": 2}]
    assert [(bad["row"], bad["field"]) for bad in parsed.bad_rows] == [
        (4, "nik"), (6, "recorded_on"), (7, "kelurahan_code")]
    assert "12345" not in str(parsed.bad_rows)  # a bad NIK is not echoed


def test_a_row_wrong_across_columns_in_two_ways_gets_both():
    text = HEADER + "3673041207050003,Ani,367302,2099-01-01,Jl. Sukajaya 3,,,3673041010,,\n"
    parsed = parse(text, TODAY)
    assert [(bad["row"], bad["field"]) for bad in parsed.bad_rows] == [
        (2, "recorded_on"), (2, "kelurahan_code")]
    assert parsed.records == [] and parsed.rows == 1


def test_rows_are_numbered_as_the_lines_of_the_file():
    """A blank line is a row too; a quote left open on its line is that
    row's fault (no cell may hold a line break), and the next line is the
    next row. ``rows`` counts the data rows, not their faults."""
    text = (HEADER + "\n" + GOOD
            + "12345,Nobody,367304,2026-01-05,Jl. Sukajaya 3,,,3673041010,,\n"
            + ",,,,,,,,,\n"
            + '3673041207050002,"Siti\nAminah",367304,2026-01-05,Jl,,,36.73.04.1010,,\n'
            + "3673041207050003,Ani,367304,2026-01-05,Jl. Sukajaya 3,,,3673041010,,\n")
    parsed = parse(text, TODAY)
    # the name over two lines: the quote opened on row 6, left open on row 7
    assert [(bad["row"], bad["field"]) for bad in parsed.bad_rows] == [
        (4, "nik"), (6, "full_name"), (7, "nik")]
    assert [record["row"] for record in parsed.records] == [3, 8]
    assert parsed.rows == 5


def test_row_messages_are_bahasa_indonesia_unless_english_is_asked():
    text = HEADER + GOOD.replace(",001,002,", ",1234,002,")
    [bad] = parse(text, TODAY).bad_rows
    assert (bad["field"], bad["message"]) == ("rt", "Harus 1-3 angka (contoh: 003).")
    [bad] = parse(text, TODAY, "en").bad_rows
    assert bad["message"] == "Must be 1-3 digits (e.g. 003)."


def test_a_name_or_street_with_nothing_to_read_is_a_bad_row():
    """A cell of spaces is read as empty; zero-width spaces were read as a
    name: a KTP-el printed blank, a posting Pos refused."""
    text = (HEADER + GOOD.replace("Rudi Hartono", "\u200b\u200b")
            + GOOD.replace("3673041207050001", "3673041207050002")
            .replace("Jl. Raya Curug No. 7", "\u200b \u3000"))
    parsed = parse(text, TODAY)
    assert [(bad["row"], bad["field"]) for bad in parsed.bad_rows] == [
        (2, "full_name"), (3, "street")]
    assert parsed.bad_rows[0]["message"] == "Tidak boleh kosong: harus memuat huruf atau angka."


def test_a_file_without_the_required_columns_is_refused():
    with pytest.raises(NotAPrrFile, match="recorded_on") as refused:
        parse("nik,full_name,kecamatan_code\n", TODAY)
    assert "recorded_on, street, kelurahan_code" in refused.value.message


def test_a_stray_quote_is_its_rows_fault_the_rows_after_it_are_read():
    """Outside review: a name ``"Ucok`` never closed read the rest of the
    file as one cell of one bad row (six rows answered as two), or - past
    128 KiB, the csv module's cell limit - refused the whole file as "not
    a PRR file", naming no row."""
    others = "".join(GOOD.replace("050001", f"05000{n}") for n in range(3, 6))
    text = HEADER + GOOD + GOOD.replace("050001", "050002").replace("Rudi", '"Ucok') + others
    parsed = parse(text, TODAY, "en")
    assert [record["row"] for record in parsed.records] == [2, 4, 5, 6]
    assert [(bad["row"], bad["field"], bad["message"]) for bad in parsed.bad_rows] == [
        (3, "full_name", prr.UNCLOSED_QUOTE.en)]
    big = HEADER + GOOD.replace("Rudi", '"Ucok') + "".join(
        GOOD.replace("050001", f"{n:06d}") for n in range(2, 2002))  # ~200 KiB after it
    parsed = parse(big, TODAY)
    assert (len(parsed.records), parsed.bad_row_count, parsed.rows) == (2000, 1, 2001)
    assert parsed.bad_rows[0]["row"] == 2
    [line] = parse(HEADER + f'{"x" * 200_000}\n' + GOOD, TODAY).bad_rows  # was a 500
    assert (line["row"], line["field"]) == (2, prr.ROW)


def test_lone_carriage_returns_end_rows_as_line_feeds_do():
    """An old Mac export (CR only) was "not a PRR file"."""
    text = (HEADER + GOOD + GOOD.replace("050001", "050002")).replace("\n", "\r")
    assert [record["row"] for record in parse(text, TODAY).records] == [2, 3]
    crlf = (HEADER + GOOD + GOOD.replace("050001", "050002")).replace("\n", "\r\n")
    assert [record["row"] for record in parse(crlf, TODAY).records] == [2, 3]


def test_a_body_not_utf_8_names_the_byte_and_its_line():
    body = (HEADER + GOOD).encode() + "Rudi H\u00e9".encode("latin-1") + b",x\n"
    with pytest.raises(NotAPrrFile) as refused:
        prr.read_text(body)
    offset = len((HEADER + GOOD).encode()) + 7
    assert refused.value.message.en.startswith(f"Not UTF-8: byte {offset} (line 3)")
    assert prr.read_text(b"\xef\xbb\xbf" + HEADER.encode()) == HEADER


def test_a_file_cut_inside_its_last_row_refuses_that_row():
    """Outside review: cut at the source, a phone shortened to a valid
    number, a name cut short, was imported as it came."""
    whole = HEADER + GOOD + GOOD.replace("050001", "050002")
    parsed = parse(whole[:-3], TODAY, "en")  # the phone lost its last two digits
    assert [record["row"] for record in parsed.records] == [2]
    assert [(bad["row"], bad["field"], bad["message"]) for bad in parsed.bad_rows] == [
        (3, prr.ROW, prr.NO_LINE_END.en)]
    assert [record["row"] for record in parse(whole, TODAY).records] == [2, 3]


def test_a_row_of_fewer_cells_than_the_header_or_more_that_hold_something_is_refused():
    short = GOOD.replace(",42171,081234567890", "")
    shifted = GOOD.replace("050001", "050002").replace("Jl. Raya Curug", "Jl. Raya, Curug")
    trailing_empty = GOOD.replace("050001", "050003").replace("\n", ",,\n")
    parsed = parse(HEADER + short + shifted + trailing_empty, TODAY, "en")
    assert [(bad["row"], bad["field"]) for bad in parsed.bad_rows] == [(2, prr.ROW),
                                                                      (3, prr.ROW)]
    assert parsed.bad_rows[0]["message"].startswith("The row has 8 cells, the header 10")
    assert [record["row"] for record in parsed.records] == [4]


def test_the_answer_lists_the_first_bad_and_repeated_rows_and_counts_them_all():
    """Outside review: 200 KB of junk lines answered 41 MB, 600,000 entries."""
    junk = HEADER + "x\n" * 5000 + "".join([GOOD] * 300)
    parsed = parse(junk, TODAY)
    assert (parsed.bad_row_count, len(parsed.bad_rows)) == (5000, prr.LISTED_ROWS)
    assert (parsed.repeated_count, len(parsed.repeated)) == (299, prr.LISTED_ROWS)
    assert parsed.rows == 5300


def test_a_later_row_brings_the_phone_the_first_row_of_its_nik_lacked():
    """Outside review: the first row without a phone, a later one with it:
    the phone was dropped as ``repeated_in_file``, and a re-upload never
    added it."""
    text = (HEADER + GOOD.replace("081234567890", "")
            + GOOD.replace("Rudi Hartono", "Rudi H.")
            + GOOD.replace("081234567890", "081299990000"))
    parsed = parse(text, TODAY)
    [record] = parsed.records
    assert (record["row"], record["full_name"], record["phone"]) == (2, "Rudi Hartono",
                                                                     "+6281234567890")
    assert parsed.repeated == [{"row": 3, "same_as_row": 2}, {"row": 4, "same_as_row": 2}]


@pytest.mark.parametrize("day", ["0001-01-01", "1900-01-01", "2010-12-31"])
def test_a_recording_date_before_ktp_el_recording_began_is_refused(day):
    """Outside review: 0001-01-01 was taken. "Before the holder's birth" is
    the same check: the NIK's two-digit year puts a birth in 19yy or 20yy,
    and 19yy is before 2011 whatever yy is."""
    [bad] = parse(HEADER + GOOD.replace("2026-11-01", day), TODAY, "en").bad_rows
    assert (bad["field"], bad["message"]) == (
        "recorded_on", "Recording date before KTP-el recording began (2011).")
    assert parse(HEADER + GOOD.replace("2026-11-01", "2011-01-01"), TODAY).records


def test_event_payload_fits_the_contract():
    [record] = parse(HEADER + GOOD, TODAY).records
    event = build_event("prr_record_imported", **event_payload(record, "rec-1"))
    assert (event["recorded_on"], event["address"]["kelurahan_code"]) == ("2026-11-01",
                                                                          "3673041010")


def test_a_record_without_a_phone_tells_only_that_its_nik_is_recorded():
    [record] = parse(HEADER + GOOD.replace("081234567890", ""), TODAY).records
    event_type, payload = announcement(record, "rec-1")
    event = build_event(event_type, **payload)
    assert event_type == "prr_record_imported_without_phone"
    assert (event["nik"], event["recorded_on"]) == ("3673041207050001", "2026-11-01")
    [with_phone] = parse(HEADER + GOOD, TODAY).records
    assert announcement(with_phone, "rec-1")[0] == "prr_record_imported"


def test_a_known_record_is_announced_again_only_when_its_phone_first_comes():
    [without] = parse(HEADER + GOOD.replace("081234567890", ""), TODAY).records
    [with_phone] = parse(HEADER + GOOD, TODAY).records
    assert phone_arrived(with_phone, {"announced": False})
    assert not phone_arrived(without, {"announced": False})
    assert not phone_arrived(with_phone, {"announced": True})
    assert not phone_arrived(with_phone, {"_id": "stored by an earlier version"})


@pytest.mark.parametrize("days,band", [(0, "0-30"), (30, "0-30"), (31, "31-90"), (90, "31-90"),
                                       (91, "91-365"), (365, "91-365"), (366, ">365")])
def test_age_bands(days, band):
    assert age_band(TODAY - datetime.timedelta(days=days), TODAY) == band


def test_aging_by_kecamatan():
    records = [{"kecamatan_code": "367304", "recorded_on": "2026-11-20"},
               {"kecamatan_code": "367304", "recorded_on": "2025-01-01"},
               {"kecamatan_code": "367301", "recorded_on": "2026-08-01"}]
    assert aging(records, TODAY) == [
        {"kecamatan_code": "367301", "bands": {"0-30": 0, "31-90": 0, "91-365": 1, ">365": 0},
         "total": 1},
        {"kecamatan_code": "367304", "bands": {"0-30": 1, "31-90": 0, "91-365": 0, ">365": 1},
         "total": 2}]


def test_a_line_break_or_nul_in_a_cell_is_refused_as_in_every_body():
    """A quoted name over two lines, or with a NUL, was told "Latin letters
    only" - a jemput-bola CSV row is told what the cell holds; the row's
    other bad cells are reported beside it."""
    text = (HEADER + GOOD.replace("Rudi Hartono", '"Rudi\nHartono"')
            + GOOD.replace("3673041207050001", "3673041207050002")
            .replace("Rudi Hartono", "Rudi\x00Hartono").replace(",001,", ",1234,"))
    parsed = parse(text, TODAY)
    assert [(bad["row"], bad["field"], bad["message"]) for bad in parsed.bad_rows] == [
        (2, "full_name", prr.UNCLOSED_QUOTE), (3, "nik", prr.UNCLOSED_QUOTE),
        (4, "full_name", "Tidak boleh memuat karakter kontrol atau baris baru."),
        (4, "rt", "Harus 1-3 angka (contoh: 003).")]
    [*_, bad, _] = parse(text, TODAY, "en").bad_rows
    assert bad["message"] == "Must not contain control characters or line breaks."
    assert parsed.records == []


@pytest.mark.parametrize("header", ["nik,NIK,full_name,kecamatan_code,recorded_on,street,"
                                    "kelurahan_code",
                                    "nik,full_name,kecamatan_code,recorded_on,street,"
                                    "kelurahan_code,phone,Phone"])
def test_a_column_named_twice_is_refused_as_in_a_jemput_bola_csv(header):
    """The last of the two cells counted: a file read one way here and
    another in the spreadsheet the operator checks."""
    with pytest.raises(ValidationFailed) as refused:
        parse(header + "\n", TODAY)
    [(column, [message])] = refused.value.fields.items()
    assert column in ("nik", "phone") and (message, message.en) == ("Kolom ganda.",
                                                                    "Column given twice.")


def test_other_columns_may_repeat_they_are_ignored():
    parsed = parse(HEADER.replace("\n", ",note,note\n") + GOOD.replace("\n", ",a,b\n"), TODAY)
    assert len(parsed.records) == 1


def test_a_holder_under_17_by_the_nik_is_left_to_intake_which_asks_the_register():
    """``...080515...`` is a child born in 2015 or a citizen born in 1915:
    a NIK carries two digits of the year. Refused here by the NIK, a
    centenarian's KTP-el was never printed from the PRR; intake asks the
    population register and refuses a child (``under_age``)."""
    child_or_centenarian = GOOD.replace("3673041207050001", "3673040805150002")
    parsed = parse(HEADER + child_or_centenarian, TODAY)
    assert [record["row"] for record in parsed.records] == [2]
    assert parsed.bad_rows == []
    assert refused_view({"_id": "3673040805150002", "row": 2, "refused": "under_age",
                         "refused_at": datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc)},
                        "en")["message"].startswith("Under 17 by the birth date (the population")


def test_every_refusal_intake_can_send_has_its_message():
    assert set(REFUSALS) == set(PRR_REFUSALS)


def test_a_refused_record_shows_its_row_and_the_nik_masked():
    refused_at = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=datetime.timezone.utc)
    view = refused_view({"_id": "3673020101450001", "row": 3, "refused": "deceased",
                         "refused_at": refused_at}, "en")
    assert view == {"import_id": None, "row": 3, "nik": "3673********0001", "reason": "deceased",
                    "message": REFUSALS["deceased"].en,
                    "refused_at": "2026-11-30T03:00:00+00:00"}


def test_only_a_record_refused_as_under_age_or_for_another_application_is_imported_again():
    """docs/prr-import.md: a record refused for its holder's age may be
    uploaded again from the 17th birthday, one refused for an application
    of the holder's own once that one is rejected or cancelled; a death
    stands."""
    assert imported_again({"announced": True, "refused": "under_age"})
    assert imported_again({"announced": True, "refused": "active_application"})
    assert not imported_again({"announced": True, "refused": "deceased"})
    assert not imported_again({"announced": True, "refused": None})
    assert not imported_again({"announced": False})
