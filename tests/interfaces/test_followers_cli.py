"""`tailgate followers`: add, subscribe, list — with clear errors for mistakes."""

from __future__ import annotations

from typer.testing import CliRunner

from tailgate.domain.followers import Follower, Subscription
from tailgate.interfaces.cli import app
from tailgate.store import Store

runner = CliRunner()


def test_followers_are_added_subscribed_and_listed(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/t.db"
    monkeypatch.setenv("TAILGATE_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    ok = runner.invoke(app, ["followers", "add", "alice", "--signer", "0xa", "--capital", "5000"])
    assert ok.exit_code == 0, ok.output
    ok = runner.invoke(app, ["followers", "subscribe", "alice", "*", "--ratio", "0.01"])
    assert ok.exit_code == 0, ok.output
    listed = runner.invoke(app, ["followers", "list"])
    assert listed.exit_code == 0 and "alice" in listed.output and "* x0.01" in listed.output

    unknown = runner.invoke(app, ["followers", "subscribe", "bob", "*", "--ratio", "0.01"])
    assert unknown.exit_code == 2 and "add it first" in unknown.output
    bad = runner.invoke(app, ["followers", "subscribe", "alice", "0xL", "--ratio", "0"])
    assert bad.exit_code == 2 and "ratio must be positive" in bad.output
    house = runner.invoke(app, ["followers", "add", "paper", "--signer", "0x", "--capital", "1"])
    assert house.exit_code == 2 and "own paper account" in house.output

    store = Store.open(url)
    assert store.load_followers() == [Follower("alice", signer="0xa", capital_usd=5000)]
    assert store.load_subscriptions() == [Subscription("alice", "*", 0.01)]
    store.close()
