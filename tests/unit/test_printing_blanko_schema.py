"""The blanko stock as operators read it (delivery answer and listing):
``warned`` is always there - false until the stock first fell to the
threshold, when the flag is first stored (docs/station-api.md)."""

from services.printing.schemas import BlankoSchema


def test_a_stock_never_low_reads_warned_false():
    assert BlankoSchema().dump({"_id": "kasemen-1", "stock": 40}) == {
        "station_id": "kasemen-1", "stock": 40, "warned": False}


def test_a_stock_warned_reads_so():
    assert BlankoSchema().dump({"_id": "kasemen-1", "stock": 2, "warned": True})["warned"] is True
