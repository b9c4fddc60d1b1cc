"""Blanko and claims, without a database: how many card jobs a station may
take, and what a claim puts back after its lease (docs/station-api.md,
"Blanko stock")."""

from services.printing.blanko import cards_left, printable_kinds, spoilt, within_stock
from services.printing.stations import Station, put_back

STATION = Station("station-serang-1", "disdukcapil-serang", frozenset({"card", "certificate"}),
                  20)


def jobs(*kinds: str) -> list[dict]:
    return [{"_id": f"job-{n}", "print_kind": kind} for n, kind in enumerate(kinds)]


def test_a_tracked_station_may_hold_a_card_job_per_blanko_an_untracked_one_any():
    assert cards_left({"stock": 9}) == 9
    assert cards_left({"stock": -2}) == 0  # a stock that went below (old data) gives none
    assert cards_left(None) is None
    assert printable_kinds(STATION, {"stock": 0}) == {"certificate"}
    assert printable_kinds(STATION, {"stock": 1}) == {"card", "certificate"}


def test_within_stock_keeps_certificates_and_the_first_cards():
    waiting = jobs("card", "certificate", "card", "card", "certificate")
    assert [job["_id"] for job in within_stock(waiting, 1)] == ["job-0", "job-1", "job-4"]
    assert within_stock(waiting, 0) == [waiting[1], waiting[4]]
    assert within_stock(waiting, None) is waiting


def test_a_claim_puts_back_the_cards_its_stock_does_not_cover():
    claimed = jobs("card", "card", "certificate", "card", "card")
    # held 5 card jobs before the claim (its stock 9): the claim keeps 4 cards at most
    back = put_back(claimed, {"card": 9, "certificate": 1}, 20, cards=9)
    assert back == []
    back = put_back(claimed, {"card": 9 + 1, "certificate": 1}, 20, cards=9)
    assert [job["_id"] for job in back] == ["job-4"]
    # not tracked: only the cap counts
    assert put_back(claimed, {"card": 30}, 20, cards=None) == claimed[-5:]
    assert put_back(claimed, {"card": 4, "certificate": 1}, 20, cards=None) == []


def test_the_cap_and_the_stock_together_put_back_no_job_twice():
    claimed = jobs("card", "certificate", "card", "certificate")
    # 3 cards over the stock (two of them claimed now: both go back) and 3
    # jobs over the cap (the cards going back make 2 of them)
    back = put_back(claimed, {"card": 7, "certificate": 6}, 10, cards=4)
    assert [job["_id"] for job in back] == ["job-0", "job-2", "job-3"]
    assert len({job["_id"] for job in back}) == len(back)


def test_a_misprinted_card_spoilt_one_blanko_no_other_failure_any():
    card, certificate = jobs("card", "certificate")
    assert spoilt(card, "misprint") == 1
    assert spoilt(certificate, "misprint") == 0  # paper, not blanko
    assert [spoilt(card, reason) for reason in ("out_of_blanko", "printer_fault",
                                                "data_error")] == [0, 0, 0]
