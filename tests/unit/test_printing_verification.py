"""Issuances and the public verdict, without a database (a dict is the store)."""

import datetime

import segno

from services.printing import artefact, tokens, verification
from services.printing.api_documents import TokenQuerySchema
from shared.http import load_checked
from shared.printable import as_printed
from tests.pdf_checks import pdf_text

KEY, OTHER = tokens.generate("now"), tokens.generate("now")
NOW = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=datetime.timezone.utc)
JOB = {"_id": "job-1", "application_id": "app-1", "document_type": "ktp_el",
       "nik": "3673045207900001", "full_name": "Siti Aminah"}


def issue(lease: str = "lease-1") -> dict:
    number = verification.document_number("ktp_el", 2026, 42)
    return verification.new_issuance(JOB, lease, number, KEY, NOW.date(), NOW)


def keys(*signing):
    return {key.kid: key.public for key in signing}


def test_a_document_number_is_a_serial_never_the_nik():
    assert verification.document_number("ktp_el", 2026, 42) == "3673-KTP-2026-0000042"
    issuance = issue()
    assert JOB["nik"] not in str(issuance["claims"]) and JOB["nik"] not in issuance["token"]


def test_a_recorded_issuance_is_valid_and_shows_only_its_claims():
    issuance = issue()
    answer = verification.verdict(issuance["token"], keys(KEY), {issuance["_id"]: issuance}.get)
    assert answer == {"status": "valid", "kid": "now", "claims": issuance["claims"]}
    assert set(answer["claims"]) == set(tokens.CLAIM_KEYS)


def test_the_token_names_the_holder_as_the_card_prints_them_in_a_qr_a_card_printer_reads():
    """(Outside audit) the longest accented names intake takes (120
    characters) made a card's token ~440 characters, a version-16 QR that
    did not decode at 300 dpi; the token now carries the name as printed
    (``Nguyễn`` as ``Nguyen``): version 15 at most, as for plain names."""
    name = ("Nguyễn Thị Ngọc Ánh Trần Văn Đức Phạm Hồng Nhung Lê Quốc Bảo " * 2)[:120]
    number = verification.document_number("ktp_el", 2026, 42)
    issuance = verification.new_issuance({**JOB, "full_name": name}, "lease-1", number, KEY,
                                         NOW.date(), NOW)
    assert issuance["claims"]["holder_name"] == as_printed(name)
    assert issuance["claims"]["holder_name"].startswith("Nguyen Thi Ngoc Ánh Tran Van Duc")
    assert len(issuance["token"]) < 400
    assert segno.make_qr(issuance["token"], error="m").version <= 15
    content = artefact.render(verification.printed_document(JOB, issuance))
    assert as_printed(name) in " ".join(pdf_text(content).split())


def test_a_revoked_issuance_says_so():
    first, second = issue("lease-1"), issue("lease-2")
    first.update(verification.revocation(second, NOW))
    store = {first["_id"]: first, second["_id"]: second}
    assert verification.verdict(first["token"], keys(KEY), store.get)["status"] == "revoked"
    assert verification.verdict(second["token"], keys(KEY), store.get)["status"] == "valid"


def test_a_forged_token_or_an_unrecorded_issuance_is_invalid():
    issuance = issue()
    store = {issuance["_id"]: issuance}.get
    forged = tokens.sign(issuance["claims"], OTHER)  # same kid, another private key
    assert verification.verdict(forged, keys(KEY), store) == {
        "status": "invalid", "reason": "bad_signature"}
    stray = tokens.sign(dict(issuance["claims"], issuance_id="never-issued"), KEY)
    assert verification.verdict(stray, keys(KEY), store)["reason"] == "unknown_issuance"
    assert verification.verdict("hello", keys(KEY), store)["status"] == "invalid"


def test_the_printed_document_has_the_nik_on_cards_only():
    issuance = issue()
    assert verification.printed_document(JOB, issuance).nik == JOB["nik"]
    akta = dict(issuance, claims=dict(issuance["claims"], document_type="akta_kelahiran"))
    assert verification.printed_document(JOB, akta).nik is None


def test_the_published_key_set_verifies_tokens():
    published = verification.published_keys(keys(KEY))
    [entry] = published["keys"]
    assert entry["kid"] == "now" and entry["crv"] == "Ed25519" and "d" not in entry
    rebuilt = tokens.parse_public_keys(f"{entry['kid']}:{entry['x']}")
    assert tokens.verify(issue()["token"], rebuilt)[0] == "now"


def test_a_card_supersedes_the_holders_earlier_cards_a_certificate_only_its_own():
    card = issue()
    unrevoked = {"revoked": False, "_id": {"$ne": card["_id"]}}
    assert verification.superseded(card) == [
        {"application_id": "app-1", **unrevoked},
        {"holder_nik": JOB["nik"], "document_type": "ktp_el", **unrevoked}]
    akta = verification.new_issuance({**JOB, "document_type": "akta_kematian"}, "lease-1",
                                     "3673-AM-2026-0000001", KEY, NOW.date(), NOW)
    assert akta["holder_nik"] is None
    assert [query["application_id"] for query in verification.superseded(akta)] == ["app-1"]
    assert len(verification.superseded(akta)) == 1


def test_an_over_long_token_gets_the_malformed_verdict_not_a_refusal():
    token = "SDK1.now." + "A" * 5000
    loaded = load_checked(TokenQuerySchema(), {"token": token})["token"]
    answer = verification.verdict(loaded, keys(KEY), {}.get)
    assert answer == {"status": "invalid", "reason": "malformed"}


def test_a_print_that_never_reached_anyone_is_revoked_as_not_issued():
    # a replacement's download whose print failed, or whose job was cancelled
    for why in (verification.PRINT_FAILED, verification.PRINT_CANCELLED):
        issuance = {**issue(), **verification.not_issued(why, NOW)}
        store = {issuance["_id"]: issuance}.get
        answer = verification.verdict(issuance["token"], keys(KEY), store)
        assert answer == {"status": "revoked", "reason": "not_issued", "kid": "now",
                          "claims": issuance["claims"]}


def test_a_replaced_issuance_says_why_rows_from_before_the_reason_too():
    first, second = issue("lease-1"), issue("lease-2")
    first.update(verification.revocation(second, NOW))
    assert verification.verdict(first["token"], keys(KEY), {first["_id"]: first}.get)[
        "reason"] == "replaced"
    older = {**issue(), "revoked": True}  # revoked before revoked_reason was kept
    assert verification.public_reason(older) == "replaced"


def test_a_card_whose_holder_died_says_so():
    issuance = {**issue(), **verification.holder_died(NOW)}
    answer = verification.verdict(issuance["token"], keys(KEY), {issuance["_id"]: issuance}.get)
    assert (answer["status"], answer["reason"]) == ("revoked", "deceased")


def test_the_printed_issuance_is_the_leases_own_else_the_latest_standing():
    early = issue("lease-1")
    failed = {**issue("lease-2"), **verification.not_issued(verification.PRINT_FAILED, NOW),
              "issued_at": NOW + datetime.timedelta(minutes=5)}
    own = {**issue("lease-3"), "issued_at": NOW + datetime.timedelta(minutes=9)}
    assert verification.printed_issuance([early, failed, own], "lease-3") is own
    # printed under lease 1, reported under lease 4 after a crash (no download under it)
    assert verification.printed_issuance([early, failed], "lease-4") is early
    assert verification.printed_issuance([failed], "lease-4") is None
    assert verification.printed_issuance([], "lease-1") is None


def test_a_print_reported_without_its_own_download_is_the_reporting_stations_latest():
    """Station X printed under lease 1 and crashed; Y took the job over,
    downloaded under lease 2 and its lease ran out too; X claims it back and
    reports it under lease 3 with no download: X's is the card printed, not
    Y's later download (a station review: Y's was taken, X's card revoked)."""
    xs = {**issue("lease-1"), "station_id": "x"}
    ys = {**issue("lease-2"), "station_id": "y", "issued_at": NOW + datetime.timedelta(minutes=9)}
    assert verification.printed_issuance([xs, ys], "lease-3", "x") is xs
    assert verification.printed_issuance([xs, ys], "lease-3", "z") is ys  # none of z's: latest
    older = {key: value for key, value in xs.items() if key != "station_id"}  # rows from before
    assert verification.printed_issuance([older, ys], "lease-3", "x") is ys


def test_a_withdrawn_reprint_s_parcel_keeps_the_download_printed_before_pos_took_it():
    """Outside audit E: the card Pos delivered verified ``revoked``."""
    at = [datetime.datetime(2026, 12, 3, 2, minute, tzinfo=datetime.timezone.utc)
          for minute in range(6)]
    first = {"_id": "i1", "issued_at": at[0], "printed_at": at[1], "revoked": True,
             "revoked_reason": "replaced"}  # by the re-queue
    reprint = {"_id": "i2", "issued_at": at[3], "printed_at": at[4], "revoked": False}
    carried, withdrawn = verification.carried_by_pos([first, reprint], at[1])
    assert carried is first and withdrawn == [reprint]
    # a reprint downloaded, not printed yet
    carried, withdrawn = verification.carried_by_pos(
        [first, {**reprint, "printed_at": None}], at[1])
    assert carried is first and [i["_id"] for i in withdrawn] == ["i2"]
    # revoked for another reason since (a death): stays revoked
    dead = {**first, "revoked_reason": "deceased"}
    assert verification.carried_by_pos([dead, reprint], at[1])[0] is None
    # replaced by another application's card: not this reprint's to give back
    assert verification.carried_by_pos([{**first, "replaced_by": "other"}, reprint],
                                       at[1])[0] is None
    # nothing downloaded for the first print: the reprint's downloads go all the same
    assert verification.carried_by_pos([reprint], at[1]) == (None, [reprint])


def test_a_card_revoked_as_replaced_keeps_its_holder_s_death_for_a_restore():
    """Outside review: a re-queued card Pos carried after all was restored
    valid though its holder's death was recorded meanwhile."""
    replaced = {"_id": "i1", "holder_nik": "3673045207900001", "revoked": True,
                "revoked_at": NOW, "revoked_reason": "replaced"}
    assert verification.restoration(replaced) == {
        "$set": {"revoked": False}, "$unset": verification.REVOCATION_FIELDS}
    later = NOW + datetime.timedelta(days=1)
    [(valid, revoked), (revoked_as_replaced, kept)] = verification.gone_while_replaced(
        {"holder_nik": replaced["holder_nik"]}, verification.holder_died(later))
    assert valid == {"holder_nik": replaced["holder_nik"], "revoked": False}
    assert revoked == {"$set": verification.holder_died(later)}
    assert revoked_as_replaced["revoked_reason"] == "replaced"
    dead = {**replaced, **kept["$set"]}
    assert verification.restoration(dead) == {
        "$set": {"revoked_at": later, "revoked_reason": "deceased"},
        "$unset": {"replaced_by": ""}}
