"""The reference agent's command line: a setting it can never work with is
refused at start in one line (argparse's, exit status 2), as a missing token
is - not a traceback, nor a claim loop that says only "answered nothing"."""

import pytest

from clients.station.__main__ import parse

OUT = ["--out-dir", "printed"]


def refusal(capsys, argv):
    with pytest.raises(SystemExit) as stopped:
        parse(argv)
    assert stopped.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("url", ["localhost:8002", "127.0.0.1:8002", "ftp://printing:8002",
                                 "http://", "printing.dukcapil.local",
                                 "http://[::1"])
def test_a_url_that_names_no_http_service_is_refused_at_start(capsys, url, monkeypatch):
    # outside audit hE: --url localhost:8002 claimed "answered nothing" every 2 s, for ever
    monkeypatch.setenv("STATION_TOKEN", "dev-station-token")
    err = refusal(capsys, ["--url", url, *OUT])
    assert "--url" in err and "http://" in err


def test_an_http_or_https_url_is_taken(monkeypatch):
    monkeypatch.setenv("STATION_TOKEN", "dev-station-token")
    assert parse(["--url", "http://127.0.0.1:8002", *OUT]).url == "http://127.0.0.1:8002"
    assert parse(["--url", "https://printing.dukcapil.local", *OUT]).token == "dev-station-token"


def test_a_token_file_that_cannot_be_read_is_named_in_one_line(capsys, tmp_path, monkeypatch):
    # outside audit hE: a missing --token-file ended in a FileNotFoundError traceback
    monkeypatch.delenv("STATION_TOKEN", raising=False)
    missing = tmp_path / "station.token"
    err = refusal(capsys, ["--url", "http://127.0.0.1:8002", "--token-file", str(missing), *OUT])
    assert "--token-file" in err and str(missing) in err and "Traceback" not in err
