"""Local sandbox for the population register (SIAK): people and family cards.

Stands in for the Dukcapil register so intake and the tests can check NIKs
and KKs offline. Seeded with fixture families (``register_families.json``:
a few Kota Serang families with parents, children, a twin pair, a deceased
person, a recorded adult); tests add their own over ``POST /sandbox/families``.
The HTTP/CLI plumbing is shared with the other sandboxes (``http_common``).
The contract is docs/register-api.md.

Run: ``python -m deploy.local.sandboxes.register --host 127.0.0.1 --port 0``
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from deploy.local.sandboxes.http_common import (FaultInjector, JsonHandler, SandboxServer,
                                                serve_cli)
from shared.masking import mask_identity

FIXTURES = Path(__file__).with_name("register_families.json")
_NUMBER = re.compile(r"\d{16}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# a member as the register keeps it: field -> (type, pattern if a string)
MEMBER_FIELDS = {"nik": (str, _NUMBER), "full_name": (str, None), "sex": (str, re.compile("[MF]")),
                 "birth_date": (str, _DATE), "relation": (str, None),
                 "ktp_el_recorded": (bool, None), "deceased": (bool, None)}
log = logging.getLogger("sandbox.register")


def family_errors(family: Any) -> dict[str, str]:
    """What is wrong with a family record, by dotted path (empty: valid)."""
    if not isinstance(family, dict):
        return {"_body": "must be a JSON object"}
    errors = {}
    if not (isinstance(family.get("kk_number"), str) and _NUMBER.fullmatch(family["kk_number"])):
        errors["kk_number"] = "16 digits required"
    if not (isinstance(family.get("kelurahan_code"), str)
            and re.fullmatch(r"\d{10}", family["kelurahan_code"])):
        errors["kelurahan_code"] = "10 digits required"
    members = family.get("members")
    if not isinstance(members, list) or not members:
        return {**errors, "members": "a non-empty list required"}
    for index, member in enumerate(members):
        for name, (kind, pattern) in MEMBER_FIELDS.items():
            value = member.get(name) if isinstance(member, dict) else None
            if type(value) is not kind or (pattern is not None and not pattern.fullmatch(value)):
                errors[f"members.{index}.{name}"] = "missing or invalid"
    return errors


class Population:
    """The register's families, and each person's family by NIK (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._families: dict[str, dict[str, Any]] = {}
        self._family_of: dict[str, str] = {}  # nik -> kk_number

    def put(self, family: dict[str, Any]) -> None:
        """Add or replace a family card; a NIK now on it leaves any other card."""
        kk = family["kk_number"]
        record = {"kk_number": kk, "kelurahan_code": family["kelurahan_code"],
                  "address": family.get("address", ""),
                  "members": [{name: m[name] for name in MEMBER_FIELDS} for m in family["members"]]}
        with self._lock:
            for old in self._families.pop(kk, {"members": []})["members"]:
                self._family_of.pop(old["nik"], None)
            for member in record["members"]:
                if (other := self._family_of.get(member["nik"])) is not None:
                    self._families[other]["members"] = [
                        m for m in self._families[other]["members"] if m["nik"] != member["nik"]]
                self._family_of[member["nik"]] = kk
            self._families[kk] = record

    def family(self, kk: str) -> dict[str, Any] | None:
        with self._lock:
            family = self._families.get(kk)
            return None if family is None else json.loads(json.dumps(family))

    def person(self, nik: str) -> dict[str, Any] | None:
        with self._lock:
            kk = self._family_of.get(nik)
            if kk is None:
                return None
            member = next(m for m in self._families[kk]["members"] if m["nik"] == nik)
            return {**member, "kk_number": kk}


class RegisterHandler(JsonHandler):
    server: RegisterServer
    log = log
    routes = [
        ("POST", re.compile(r"/api/v1/penduduk"), "lookup_person"),
        ("POST", re.compile(r"/api/v1/keluarga"), "lookup_family"),
        ("POST", re.compile(r"/sandbox/families"), "add_family"),
        ("POST", re.compile(r"/sandbox/faults"), "set_faults"),
        ("GET", re.compile(r"/health"), "health"),
    ]

    def _number(self, name: str) -> str | None:
        """The 16-digit number ``name`` of a JSON body, or None after answering 400."""
        body = self.read_json()
        if body is None:
            return None
        value = body.get(name) if isinstance(body, dict) else None
        if not (isinstance(value, str) and _NUMBER.fullmatch(value)):
            self.send_json(400, {"error": f"{name}: 16 digits required"})
            return None
        status = self.server.faults.take()
        if status is not None:
            self.send_json(status, {"error": "register unavailable (injected fault)"})
            return None
        return value

    def lookup_person(self, _query: dict[str, list[str]]) -> None:
        self._lookup("nik", self.server.population.person, "person")

    def lookup_family(self, _query: dict[str, list[str]]) -> None:
        self._lookup("kk_number", self.server.population.family, "family")

    def _lookup(self, field: str, find, key: str) -> None:
        number = self._number(field)
        if number is not None:
            found = find(number)
            self.log.info("%s %s found=%s", key, mask_identity(number), found is not None)
            self.send_json(200, {"found": True, key: found} if found else {"found": False})

    def add_family(self, _query: dict[str, list[str]]) -> None:
        family = self.read_json()
        if family is None:
            return
        if errors := family_errors(family):
            return self.send_json(400, {"errors": errors})
        self.server.population.put(family)
        self.send_json(201, {"ok": True})


class RegisterServer(SandboxServer):
    def __init__(self, address: tuple[str, int], fixtures: Path | None) -> None:
        super().__init__(address, RegisterHandler)
        self.population = Population()
        self.faults = FaultInjector()
        if fixtures is not None:
            for family in json.loads(fixtures.read_text(encoding="utf-8"))["families"]:
                if errors := family_errors(family):
                    raise ValueError(f"invalid fixture family: {errors}")
                self.population.put(family)


def make_server(host: str, port: int, *, fixtures: Path | None = FIXTURES) -> ThreadingHTTPServer:
    return RegisterServer((host, port), fixtures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES,
                        help="families to start with (JSON, as register_families.json)")
    args = parser.parse_args(argv)
    return serve_cli(args.host, args.port, make_server, fixtures=args.fixtures)


if __name__ == "__main__":
    raise SystemExit(main())
