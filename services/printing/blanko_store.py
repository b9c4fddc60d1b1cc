"""Printing's store, blanko half: each station's stock of blank cards
(collection ``blanko``; a print takes one, a delivery brings them) and its
ledger of deliveries (``blanko_deliveries``: operator, when, how many, the
``Idempotency-Key``, the stock after). What a change means - a warning, a
stock never stored below zero - is decided in ``blanko``. It writes its
events as the pickup half does (``pickup_store``); the reports half
(``report_store``: a card printed or spoilt takes its blanko) and
``PrintStore`` build on it.
"""

from __future__ import annotations

import logging

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared.clock import utcnow

from .blanko import (RECENT_DELIVERIES, below_zero, delivery_row, delivery_starts_tracking,
                     earlier_delivery, low_stock)
from .exceptions import UnknownStation
from .pickup_store import PickupStore
from .stations import StationRules

log = logging.getLogger(__name__)


class BlankoStore(PickupStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        # a retried delivery finds its first by key; the ledger is read per station
        db.blanko_deliveries.create_index([("idempotency_key", ASCENDING)], unique=True,
                                          sparse=True)
        db.blanko_deliveries.create_index([("station_id", ASCENDING), ("recorded_at", ASCENDING)])
        super().ensure_indexes(db)

    def record_blanko_delivery(self, station_id: str, delivered: int, stations: StationRules,
                               operator: str = "unknown", key: str | None = None) -> dict:
        """An operator received ``delivered`` blanko at a station; its stock is
        tracked from now on. ``UnknownStation`` for a station neither
        configured nor tracked (``blanko.delivery_starts_tracking``). A
        first delivery that leaves it at or below the threshold warns
        (``blanko_low``) as a print falling there would. The delivery is a
        row of the ledger (``blanko_deliveries``: ``operator``, when, how
        many, ``key``) in the stock's transaction, and a log line; a retry
        under its ``Idempotency-Key`` (``key``) gets the first answer and
        counts nothing again (outside review: a retry after a lost answer
        counted the stock twice), another delivery under it ``BlankoKeyReused``."""
        if key and (earlier := self._earlier_delivery(key, station_id, delivered)):
            return earlier

        def work(session):
            now = utcnow()
            events = self._change_blanko(
                session, stations, station_id,
                {"$inc": {"stock": delivered}, "$set": {"delivered_at": now}},
                upsert=delivery_starts_tracking(station_id, stations.stations))
            stock = self.db.blanko.find_one({"_id": station_id}, session=session)
            if stock is None:
                raise UnknownStation()
            self.db.blanko_deliveries.insert_one(
                delivery_row(station_id, delivered, operator, key, now, stock), session=session)
            self._emit_all(session, events)
            return stock
        try:
            stock = self.run_transaction(work)
        except DuplicateKeyError:
            # the same delivery retried at the same moment: the first committed
            if key and (earlier := self._earlier_delivery(key, station_id, delivered)):
                return earlier
            raise
        log.info("blanko delivery of %d to station %s recorded by %s: stock %d",
                 delivered, station_id, operator, stock["stock"])
        return stock

    def _earlier_delivery(self, key: str, station_id: str, delivered: int) -> dict | None:
        row = self.db.blanko_deliveries.find_one({"idempotency_key": key})
        return None if row is None else earlier_delivery(row, station_id, delivered)

    def blanko_stocks(self) -> list[dict]:
        """Each tracked station's stock, with its latest deliveries (newest first)."""
        return [{**stock, "recent_deliveries": list(self.db.blanko_deliveries.find(
                    {"station_id": stock["_id"]}, sort=[("recorded_at", -1)],
                    limit=RECENT_DELIVERIES))}
                for stock in self.db.blanko.find(sort=[("_id", ASCENDING)])]

    def _change_blanko(self, session, stations: StationRules, station_id: str, change: dict,
                       upsert: bool = False) -> list:
        stock = self.db.blanko.find_one_and_update(
            {"_id": station_id}, change, upsert=upsert, return_document=ReturnDocument.AFTER,
            session=session)
        if stock is None:
            return []  # not tracked
        if short := below_zero(stock):
            log.warning("station %s printed %d card(s) beyond its recorded blanko stock: kept "
                        "at 0, counted in stock_discrepancy - count its blanko and record a "
                        "delivery of what is there", station_id, -stock["stock"])
            stock = self.db.blanko.find_one_and_update(
                {"_id": station_id}, short, return_document=ReturnDocument.AFTER,
                session=session)
        flag, events = low_stock(stations.station(station_id), stock, stations.blanko_threshold)
        if flag:
            self.db.blanko.update_one({"_id": station_id}, {"$set": flag}, session=session)
        return events
