"""The one rule printing and courier follow for which members a jemput-bola
manifest waits for (``shared.manifests``): a member dropped (rejected,
withdrawn, its print job given up) is not waited for, unless verified again
since - whatever order the two events were recorded in."""

from __future__ import annotations

import datetime

from shared.manifests import dropped, member_dropped, member_verified, still_expected

REJECTED = datetime.datetime(2025, 6, 5, 3, 0, tzinfo=datetime.timezone.utc)
VERIFIED_AGAIN = REJECTED + datetime.timedelta(hours=2)


def dropped_at(*application_ids: str, at: datetime.datetime = REJECTED) -> dict:
    """The members were dropped (rejected ...) ``at``: a manifest's record of it."""
    return {"dropped_at": {application_id: at for application_id in application_ids}}


def test_a_member_verified_after_it_was_dropped_is_a_member_again():
    manifest = {**dropped_at("b", "c"), "verified_at": {"a": REJECTED, "b": VERIFIED_AGAIN}}
    assert dropped(manifest, "dropped_ids") == {"c"}
    assert still_expected(["a", "b", "c"], ["a"], dropped(manifest, "dropped_ids")) == {"b"}
    # dropped again after that verification (its held print job given up)
    later = {**manifest["dropped_at"], "b": VERIFIED_AGAIN + datetime.timedelta(hours=1)}
    assert dropped({**manifest, "dropped_at": later}, "dropped_ids") == {"b", "c"}


def test_an_earlier_version_s_list_counts_as_dropped_before_any_verification():
    assert dropped({"dropped_ids": ["b", "c"]}, "dropped_ids") == {"b", "c"}
    assert dropped({"dropped_ids": ["b", "c"], "verified_at": {"b": VERIFIED_AGAIN}},
                   "dropped_ids") == {"c"}
    assert dropped({}, "dropped") == set()


def test_the_records_keep_the_latest_time_so_any_order_gives_the_same_answer():
    assert member_dropped("b", REJECTED) == {"$max": {"dropped_at.b": REJECTED}}
    assert member_verified("b", VERIFIED_AGAIN) == {"$max": {"verified_at.b": VERIFIED_AGAIN}}
