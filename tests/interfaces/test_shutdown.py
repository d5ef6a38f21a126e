"""SIGTERM / SIGINT stop `tailgate run` gracefully: the step in progress finishes, checkpoints
are flushed, the process exits 0 — and a second run resumes where the first stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tailgate.store import Store

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_engine_gracefully_and_it_resumes(tmp_path, sig):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILGATE_")}
    db = tmp_path / "run.db"
    env |= {
        "PYTHONFAULTHANDLER": "1",
        "TAILGATE_DATABASE_URL": f"sqlite:///{db}",
        "TAILGATE_LOG_FILE": str(tmp_path / "l"),
    }
    cmd = [
        sys.executable,
        "-m",
        "tailgate.interfaces.cli",
        "run",
        "--days",
        "20",
        "--speed",
        "86400",
    ]  # one simulated day per real second: long enough to be interrupted
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while (
        b"engine_started" not in (tmp_path / "l").read_bytes()
        if (tmp_path / "l").exists()
        else True
    ):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stdout.read()
        time.sleep(0.1)
    time.sleep(1.5)
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        out, _ = proc.communicate(timeout=10)
        pytest.fail("the engine did not stop:\n" + out.decode()[-4000:])
    assert proc.returncode == 0, out.decode()
    log = (tmp_path / "l").read_text()
    assert "engine_stopped" in log and "Traceback" not in log
    store = Store.open(f"sqlite:///{db}")
    stopped_at = store.get_state("clock_ms")
    store.close()
    assert stopped_at is not None
    resumed = subprocess.run(
        [*cmd[:-4], "--days", "1"], cwd=tmp_path, env=env, capture_output=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stdout.decode() + resumed.stderr.decode()
    store = Store.open(f"sqlite:///{db}")
    assert store.get_state("clock_ms") == stopped_at + 86_400_000
    store.close()
