"""Where citizens meet the Dinas, and on which days: the one list of service
places (the Dinas counter and the kecamatan offices) and the working-day
calendar (weekends, Indonesian public holidays from the maintained
``holidays`` package, and locally configured closing days such as cuti
bersama). Plain Python, no I/O: intake's recording appointments and
printing's pickup windows both use it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import lru_cache

import holidays

from .settings import InvalidSetting


@dataclass(frozen=True)
class Place:
    place_id: str
    name: str
    address: str
    kecamatan_code: str | None = None  # None: the Dinas itself (serves the whole city)
    opens: int = 8      # first hourly window starts 08:00 WIB
    closes: int = 15    # last window ends 15:00 WIB
    recording_capacity: int = 40  # KTP-el recordings (perekaman) a working day
    pickup_capacity: int = 40     # printed documents collected per hourly window

    @property
    def is_dinas(self) -> bool:
        return self.kecamatan_code is None

    @property
    def opening_hours(self) -> dict[str, str]:
        """``{"opens": "08:00", "closes": "15:00"}`` (WIB), as intake's booking
        answer and its recording events write them."""
        return {"opens": f"{self.opens:02d}:00", "closes": f"{self.closes:02d}:00"}

    def view(self) -> dict:
        """The place as intake's answers show it: id, name, address, hours."""
        return {"place_id": self.place_id, "name": self.name, "address": self.address,
                **self.opening_hours}


DINAS = Place("disdukcapil-serang", "Loket Disdukcapil Kota Serang",
              "Jl. Jenderal Sudirman No. 5, Kota Serang")
# the Dinas' site where a citizen looks their application up (tracking code +
# NIK), reads a rejection in full and resubmits it
STATUS_SITE = "smartdukcapil.serangkota.go.id"
# Kota Serang's six kecamatan offices (region codes from shared/data/wilayah.csv)
KECAMATAN_OFFICES = (
    Place("kec-serang", "Kantor Kecamatan Serang", "Jl. Ki Mas Jong, Kota Serang", "367301"),
    Place("kec-kasemen", "Kantor Kecamatan Kasemen", "Jl. Raya Banten, Kasemen, Kota Serang",
          "367302"),
    Place("kec-walantaka", "Kantor Kecamatan Walantaka", "Jl. Raya Walantaka, Kota Serang",
          "367303"),
    Place("kec-curug", "Kantor Kecamatan Curug", "Jl. Raya Curug No. 1, Kota Serang", "367304"),
    Place("kec-cipocok-jaya", "Kantor Kecamatan Cipocok Jaya",
          "Jl. Raya Petir, Cipocok Jaya, Kota Serang", "367305"),
    Place("kec-taktakan", "Kantor Kecamatan Taktakan", "Jl. Raya Taktakan, Kota Serang",
          "367306"),
)
PLACES = {place.place_id: place for place in (DINAS, *KECAMATAN_OFFICES)}


def place(place_id: str) -> Place:
    """The place with this id; ``KeyError`` for an unknown one."""
    return PLACES[place_id]


def office_for_kecamatan(kecamatan_code: str) -> Place | None:
    return next((p for p in KECAMATAN_OFFICES if p.kecamatan_code == kecamatan_code), None)


@lru_cache(maxsize=8)
def _public_holidays(year: int) -> frozenset[datetime.date]:
    return frozenset(holidays.country_holidays("ID", years=year))


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days: Monday to Friday, not a public holiday, not a local
    closing day (``closed``: e.g. cuti bersama, configured per Dinas)."""

    closed: frozenset[datetime.date] = frozenset()

    def is_working_day(self, day: datetime.date) -> bool:
        return (day.weekday() < 5 and day not in self.closed
                and day not in _public_holidays(day.year))

    def next_working_day(self, after: datetime.date) -> datetime.date:
        """The first working day strictly after ``after``."""
        day = after + datetime.timedelta(days=1)
        while not self.is_working_day(day):
            day += datetime.timedelta(days=1)
        return day

    def working_days(self, after: datetime.date):
        """Working days after ``after``, in order, without end."""
        day = after
        while True:
            day = self.next_working_day(day)
            yield day

    @classmethod
    def from_config(cls, value) -> "WorkingCalendar":
        """``CLOSED_DAYS`` config: ISO dates as a YAML list or comma-separated."""
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        try:
            return cls(frozenset(datetime.date.fromisoformat(str(day).strip())
                                 for day in value or ()))
        except ValueError:
            raise InvalidSetting("CLOSED_DAYS", "expected dates (YYYY-MM-DD) separated by commas") \
                from None
