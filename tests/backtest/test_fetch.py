"""`tailgate data fetch hyperliquid` against a local fake `/info` server: paging, retries, files
the importers read back whole."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from tailgate.backtest.data import load_bars, load_fills
from tailgate.interfaces.cli import app

LEADER = "0x" + "ab" * 20
NOW = 1_740_000_000_000
MINUTE = 60_000


def _fills() -> list[dict]:
    """4,500 fills; 30 of them share the millisecond that straddles the first page edge."""
    out, position = [], 0.0
    for i in range(4_500):
        t = NOW - 4_600 * MINUTE + (i if i < 1_985 or i >= 2_015 else 1_985) * MINUTE
        is_buy = i % 2 == 0
        out.append(
            {
                "coin": "BTC",
                "px": "97000.0",
                "sz": "0.01",
                "side": "B" if is_buy else "A",
                "time": t,
                "startPosition": f"{position:.2f}",
                "dir": "Open Long" if is_buy else "Close Long",
                "closedPnl": "0.0",
                "hash": f"0x{i:064x}",
                "oid": 10_000 + i,
                "crossed": True,
                "fee": "0.3",
                "tid": 500_000 + i,
                "feeToken": "USDC",
            }
        )
        position += 0.01 if is_buy else -0.01
    return out


def _candles() -> list[dict]:
    start = NOW - 2 * 86_400_000
    return [
        {
            "t": start + k * MINUTE,
            "T": start + (k + 1) * MINUTE - 1,
            "s": "BTC",
            "i": "1m",
            "o": "97000",
            "h": "97100",
            "l": "96900",
            "c": "97050",
            "v": "1.5",
            "n": 10,
        }
        for k in range(2 * 1440)
    ]


class _Info(BaseHTTPRequestHandler):
    fills: ClassVar[list[dict]] = _fills()
    candles: ClassVar[list[dict]] = _candles()
    faults: ClassVar[list[str]] = []  # status codes to answer first, in order
    requests: ClassVar[int] = 0

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests += 1
        if self.faults:
            code = int(self.faults.pop(0))
            self.send_response(code)
            if code == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            return
        if body["type"] == "userFillsByTime":
            rows = [f for f in self.fills if body["startTime"] <= f["time"] <= body["endTime"]]
            answer = rows[:2_000]
        elif body["type"] == "candleSnapshot":
            req = body["req"]
            rows = [c for c in self.candles if req["startTime"] <= c["t"] <= req["endTime"]]
            answer = rows[:5_000]
        else:
            self.send_response(400)
            self.end_headers()
            return
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def server():
    # a fresh handler class per server: the first two requests fail (429, then 500)
    handler = type("Info", (_Info,), {"faults": ["429", "500"], "requests": 0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.handler = handler
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()


def test_fetch_pages_through_everything_retries_faults_and_writes_importable_files(
    server, tmp_path, monkeypatch
):
    monkeypatch.setattr("tailgate.backtest.fetch.time.time_ns", lambda: NOW * 1_000_000)
    monkeypatch.setattr("tailgate.backtest.fetch.BACKOFF_BASE_S", 0.0)
    result = CliRunner().invoke(
        app,
        [
            "data",
            "fetch",
            "hyperliquid",
            "--leader",
            LEADER,
            "--coins",
            "BTC",
            "--days",
            "4",
            "--out",
            str(tmp_path),
            "--base-url",
            f"http://127.0.0.1:{server.server_address[1]}",
        ],
    )
    assert result.exit_code == 0, result.output
    fills, report = load_fills(tmp_path / "fills" / f"{LEADER}.json")
    assert len(fills) == 4_500, report  # every page, the straddling millisecond once
    assert len({f.fill_id for f in fills}) == 4_500
    bars, _ = load_bars(tmp_path / "prices" / "BTC_1m.json")
    assert len(bars.time_ms) == 2 * 1440
    assert server.handler.requests == 2 + 3 + 1  # two faults, three fill pages, one of candles


def test_a_bad_leader_address_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["data", "fetch", "hyperliquid", "--leader", "bob"])
    assert result.exit_code == 2 and "0x address" in result.output
