"""The reference station agent (docs/station-api.md, "Run the reference agent").

    python -m clients.station --url http://printing:8002 --token-file /etc/station.token \\
        --printer KARTU_1 --journal /var/lib/station/journal.jsonl
    python -m clients.station --url ... --out-dir ./printed     # no printer: a folder

The token is read from ``--token-file`` or ``STATION_TOKEN`` (``--token``
works too, but shows in the process list).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from shared.logs import PersonalDataFilter

from .agent import StationAgent, TokenRefused
from .journal import Journal
from .printers import CupsPrinter, FolderPrinter
from .station_api import StationApi

# tests only: after handing a job to the printer, write its id to this file
# and hang (the test kills the agent there: a crash mid-print)
PAUSE_HOOK = "STATION_AGENT_TEST_PAUSE_FILE"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m clients.station",
                                     description="Smartdukcapil reference station agent")
    parser.add_argument("--url", required=True, help="the printing service, e.g. http://127.0.0.1:8002")
    parser.add_argument("--token", help="station token (prefer --token-file or STATION_TOKEN)")
    parser.add_argument("--token-file", help="a file holding the station token")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--printer", metavar="QUEUE", help="CUPS queue to print to (lp -d QUEUE)")
    where.add_argument("--out-dir", metavar="DIR", help="write each document here instead")
    parser.add_argument("--journal", default="station-journal.jsonl",
                        help="the local journal (default: %(default)s)")
    parser.add_argument("--poll-seconds", type=float, default=5.0,
                        help="wait this long when no job is waiting (default: %(default)s)")
    parser.add_argument("--fault-pause-seconds", type=float, default=60.0,
                        help="after a printer fault, claim nothing for this long (default 60)")
    parser.add_argument("--until-idle", action="store_true",
                        help="exit once no job is waiting and every report went through")
    args = parser.parse_args(argv)
    if not http_address(args.url):
        # requests refuses such a URL on every call: the agent would claim
        # "answered nothing" every 2 s for ever, never saying why
        parser.error(f"--url must be the service's http:// or https:// address, "
                     f"e.g. http://127.0.0.1:8002 (got {args.url!r})")
    if args.token_file:
        try:
            args.token = Path(args.token_file).read_text().strip()
        except OSError as exc:
            parser.error(f"--token-file {args.token_file}: cannot be read ({exc.strerror})")
    args.token = args.token or os.environ.get("STATION_TOKEN", "").strip()
    if not args.token:
        parser.error("no station token: --token-file, STATION_TOKEN or --token")
    return args


def http_address(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


def pause_hook():
    marker = os.environ.get(PAUSE_HOOK)
    if not marker:
        return lambda job_id: None

    def pause(job_id: str) -> None:
        Path(marker).write_text(job_id)
        while True:
            time.sleep(3600)
    return pause


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    handler = logging.StreamHandler()
    handler.addFilter(PersonalDataFilter())  # the last line of defence, as in the services
    handler.setFormatter(logging.Formatter("%(asctime)s station %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    printer = CupsPrinter(args.printer) if args.printer else FolderPrinter(args.out_dir)
    api, journal = StationApi(args.url, args.token), Journal(args.journal)
    try:
        StationAgent(api, printer, journal, after_hand_over=pause_hook(),
                     fault_pause_seconds=args.fault_pause_seconds).run(
            args.poll_seconds, until_idle=args.until_idle)
    except KeyboardInterrupt:
        pass
    except TokenRefused:
        logging.getLogger("station").error(
            "the printing service refused this station's token (401): check STATION_TOKEN "
            "or --token-file; stopping (a retried wrong token locks this address out)")
        sys.exit(2)
    finally:
        journal.close()
        api.close()


if __name__ == "__main__":
    main()
