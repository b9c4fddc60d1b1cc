"""How long a PRR import takes: one upload of ``--rows`` new records (all
with a phone), then the same file again (every NIK ``already_known``).

    .venv/bin/python bench/prr_import.py [--rows 8000]

Starts its own stack (printing only, SecantusDB on disk as ``make run``, a
vhost of its own) and prints the seconds and rows/s of each upload. Not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stacks import own_stack  # noqa: E402
from tests.helpers import OPERATOR, TOKENS, random_mobile, random_nik, resident_name  # noqa: E402

HEADER = "nik,full_name,kecamatan_code,recorded_on,street,rt,rw,kelurahan_code,postal_code,phone"


def export(rows: int) -> bytes:
    lines = [HEADER] + [f"{random_nik(year=1980 + n % 20)},{resident_name(n)},367304,2025-01-01,"
                        f"Jl. Raya Curug No. {n % 200 + 1},001,002,3673041010,42171,"
                        f"{random_mobile()}" for n in range(rows)]
    # every row ended by a line break: a last row without one is refused as cut (578b734)
    return ("\n".join(lines) + "\n").encode()


def timed_upload(url: str, body: bytes) -> tuple[float, dict]:
    started = time.perf_counter()
    answer = requests.post(url, data=body, timeout=1800,
                           headers={**OPERATOR, "Content-Type": "text/csv"})
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return elapsed, answer.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8000)
    args = parser.parse_args()
    with own_stack("prr", ["printing"], TOKENS) as stack:
        url = stack.url("printing") + "/api/v1/operator/prr-imports"
        body = export(args.rows)
        for name in ("new", "again"):
            elapsed, answer = timed_upload(url, body)
            counts = {key: value for key, value in answer.items()
                      if isinstance(value, int)}
            print(f"{name}: {args.rows} rows in {elapsed:.1f} s = {args.rows / elapsed:.0f} "
                  f"rows/s {counts}")


if __name__ == "__main__":
    main()
