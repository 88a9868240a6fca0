"""``shuxin his``: the address from SHUXIN_URL or --url, one clear line when nobody answers, and
only the answer on standard output (no HTTP client log lines)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from api.cli import main

ARGS = ["his", "GET", "/his/v1/patients/1/credit", "--hospital", "H1", "--secret", "s" * 64]


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "active", "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_address_comes_from_shuxin_url_and_only_the_answer_is_printed(
    server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHUXIN_URL", server)
    monkeypatch.setenv("SHUXIN_LOG_FORMAT", "console")

    assert main(ARGS) == 0

    out, err = capsys.readouterr()
    assert json.loads(out) == {"status": "active", "path": "/his/v1/patients/1/credit"}
    assert "HTTP Request" not in err
    assert err == ""


def test_the_url_flag_wins_over_the_environment(
    server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHUXIN_URL", f"http://127.0.0.1:{_free_port()}")

    assert main([*ARGS, "--url", server]) == 0

    assert json.loads(capsys.readouterr().out)["status"] == "active"


def test_nobody_listening_is_one_clear_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("SHUXIN_URL", address)

    assert main(ARGS) == 3

    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert address in lines[0]
    assert "SHUXIN_URL" in lines[0]
    assert "--url" in lines[0]


def test_the_curl_command_is_printed_alone_with_the_address_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHUXIN_URL", "http://his-sandbox.example:9000/")

    assert main([*ARGS, "--curl"]) == 0

    out, err = capsys.readouterr()
    assert out.startswith(
        "curl -sS -X GET http://his-sandbox.example:9000/his/v1/patients/1/credit"
    )
    assert len(out.strip().splitlines()) == 1
    assert err == ""
