"""Signed `POST /exchange` bodies: the SDK's signature, deterministic bytes, exactly what the
SDK's `Exchange` would post, and a verifier that refuses anything tampered with."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json

import eth_keys
import pytest
from eth_account import Account
from hyperliquid import exchange as sdk_exchange
from hyperliquid.exchange import Exchange
from hyperliquid.utils.types import Cloid

from tailgate.domain.models import Market, OrderType
from tailgate.engine.locks import NonceSource, ScopedLocks
from tailgate.venues.hyperliquid.keys import SigningError, signer_from_private_key
from tailgate.venues.hyperliquid.orders import OrderRefused, RefusalKind
from tailgate.venues.hyperliquid.signing import (
    InvalidSignature,
    Network,
    body_bytes,
    recover_signer,
    sign_action,
    sign_cancel_by_cloid,
    sign_order,
    sign_update_leverage,
    verify_signed_body,
)
from tailgate.venues.protocols import OrderRequest

# Generated here, never real keys.
TEST_KEY = "0x" + hashlib.sha256(b"tailgate test agent key").hexdigest()
OTHER_KEY = "0x" + hashlib.sha256(b"tailgate another agent key").hexdigest()
MASTER = "0x" + "5a" * 20
SIGNER = signer_from_private_key(TEST_KEY, MASTER)
OTHER = signer_from_private_key(OTHER_KEY, MASTER)
MAIN = Network.MAINNET

BTC = Market("BTC", sz_decimals=5, max_leverage=40)
ETH = Market("ETH", sz_decimals=4, max_leverage=25)
META = {
    "universe": [
        {"name": "BTC", "szDecimals": 5, "maxLeverage": 40},
        {"name": "ETH", "szDecimals": 4, "maxLeverage": 25},
    ]
}
CLOID = "0x" + "0123456789abcdef" * 2
NONCE = 1_750_000_000_000


def buy(nonce: int | None = NONCE, **kw) -> OrderRequest:
    fields = {"size": 0.000123456, "limit_price": 104_567.8} | kw
    return OrderRequest(CLOID, "BTC", True, nonce=nonce, **fields)


def stop(nonce: int = NONCE) -> OrderRequest:
    return OrderRequest(
        CLOID, "BTC", False, 0.25, 94_050.0, OrderType.MARKET, True, 95_000.0, nonce
    )


def test_body_has_the_exchange_shape_and_the_nonce_as_given():
    body = sign_order(SIGNER, buy(), BTC, 0, network=MAIN)
    assert list(body) == ["action", "nonce", "signature", "vaultAddress", "expiresAfter"]
    assert body["nonce"] == NONCE
    assert body["vaultAddress"] is None and body["expiresAfter"] is None
    assert body["action"]["orders"][0]["c"] == CLOID
    assert set(body["signature"]) == {"r", "s", "v"} and body["signature"]["v"] in (27, 28)


def test_signing_is_deterministic_to_the_byte():
    first = body_bytes(sign_order(SIGNER, buy(), BTC, 0, network=MAIN))
    again = body_bytes(sign_order(SIGNER, buy(), BTC, 0, network=MAIN))
    assert first == again
    # golden vector: a change here changes what the venue receives (SDK or rounding change)
    assert hashlib.sha256(first).hexdigest() == GOLDEN_ORDER_BODY_SHA256


def test_mainnet_and_testnet_sign_differently():
    main = sign_order(SIGNER, buy(), BTC, 0, network=Network.MAINNET)
    test = sign_order(SIGNER, buy(), BTC, 0, network=Network.TESTNET)
    assert main["action"] == test["action"] and main["signature"] != test["signature"]
    assert verify_signed_body(test, SIGNER.agent_address, network=Network.TESTNET)
    assert not verify_signed_body(test, SIGNER.agent_address, network=Network.MAINNET)


def test_network_urls():
    assert Network.MAINNET.base_url == "https://api.hyperliquid.xyz"
    assert Network.TESTNET.base_url == "https://api.hyperliquid-testnet.xyz"
    assert Network.MAINNET.exchange_url == "https://api.hyperliquid.xyz/exchange"
    assert Network.MAINNET.is_mainnet and not Network.TESTNET.is_mainnet


def test_signature_recovers_the_agent_address_not_the_master_account():
    body = sign_order(SIGNER, buy(), BTC, 0, network=MAIN)
    assert recover_signer(body, network=MAIN) == SIGNER.agent_address
    assert SIGNER.agent_address == Account.from_key(TEST_KEY).address.lower()
    assert verify_signed_body(body, SIGNER.agent_address.upper().replace("0X", "0x"), network=MAIN)
    assert not verify_signed_body(body, MASTER, network=MAIN)


def test_the_wire_bytes_verify_after_a_json_round_trip():
    raw = body_bytes(sign_order(SIGNER, stop(), BTC, 0, network=MAIN))
    assert verify_signed_body(raw, SIGNER.agent_address, network=MAIN)
    assert verify_signed_body(raw.decode(), SIGNER.agent_address, network=MAIN)
    assert verify_signed_body(json.loads(raw), SIGNER.agent_address, network=MAIN)


def _tampered(mutate) -> dict:
    body = json.loads(body_bytes(sign_order(SIGNER, buy(), BTC, 0, network=MAIN)))
    mutate(body)
    return body


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: b["action"]["orders"][0].update(s="0.00013"), id="size"),
        pytest.param(lambda b: b["action"]["orders"][0].update(p="104568"), id="price"),
        pytest.param(lambda b: b["action"]["orders"][0].update(b=False), id="side"),
        pytest.param(lambda b: b["action"]["orders"][0].update(a=1), id="asset"),
        pytest.param(lambda b: b["action"]["orders"][0].update(r=True), id="reduce-only"),
        pytest.param(lambda b: b["action"].update(grouping="normalTpsl"), id="grouping"),
        pytest.param(lambda b: b.update(nonce=NONCE + 1), id="nonce"),
        pytest.param(lambda b: b.update(vaultAddress="0x" + "11" * 20), id="vault"),
        pytest.param(lambda b: b.update(expiresAfter=NONCE + 60_000), id="expiry"),
        pytest.param(lambda b: b["signature"].update(v=55 - b["signature"]["v"]), id="v-flipped"),
    ],
)
def test_any_tampering_fails_verification(mutate):
    assert not verify_signed_body(_tampered(mutate), SIGNER.agent_address, network=MAIN)


def test_reordered_action_keys_are_a_different_action():
    def reorder(body: dict) -> None:
        order = body["action"]["orders"][0]
        body["action"]["orders"][0] = dict(reversed(list(order.items())))

    assert not verify_signed_body(_tampered(reorder), SIGNER.agent_address, network=MAIN)


def test_another_key_does_not_verify_as_the_agent():
    body = sign_order(OTHER, buy(), BTC, 0, network=MAIN)
    assert recover_signer(body, network=MAIN) == OTHER.agent_address != SIGNER.agent_address
    assert not verify_signed_body(body, SIGNER.agent_address, network=MAIN)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        {"nonce": NONCE, "signature": {"r": "0x1", "s": "0x1", "v": 27}},
        {
            "action": {"type": "order"},
            "nonce": True,
            "signature": {"r": "0x1", "s": "0x1", "v": 27},
        },
        {"action": {"type": "order"}, "nonce": -5, "signature": {"r": "0x1", "s": "0x1", "v": 27}},
        {"action": {"type": "order"}, "nonce": NONCE},
        {
            "action": {"type": "order"},
            "nonce": NONCE,
            "signature": {"r": "0x1", "s": "0x1", "v": True},
        },
        {
            "action": {"type": "order"},
            "nonce": NONCE,
            "signature": {"r": "zz", "s": "0x1", "v": 27},
        },
        {
            "action": {"type": "order"},
            "nonce": NONCE,
            "signature": {"r": "0x1", "s": "0x1", "v": 99},
        },
        {"action": {"type": "order"}, "nonce": NONCE, "signature": {"r": 1, "s": "0x1", "v": 27}},
    ],
)
def test_malformed_bodies_are_invalid_never_a_crash(body):
    with pytest.raises(InvalidSignature):
        recover_signer(body, network=MAIN)
    assert verify_signed_body(body, SIGNER.agent_address, network=MAIN) is False


def test_an_order_without_a_nonce_is_not_signed():
    with pytest.raises(ValueError, match="no nonce"):
        sign_order(SIGNER, buy(nonce=None), BTC, 0, network=MAIN)


@pytest.mark.parametrize("nonce", [0, -1, 2**64, True, 1.5])
def test_nonce_must_fit_eight_bytes(nonce):
    with pytest.raises(ValueError, match="nonce"):
        sign_action(SIGNER, {"type": "noop"}, nonce, network=MAIN)


def test_an_order_the_venue_would_reject_is_refused_before_signing():
    with pytest.raises(OrderRefused) as err:
        sign_order(SIGNER, buy(size=0.00005, limit_price=100_000.0), BTC, 0, network=MAIN)
    assert err.value.kind is RefusalKind.NOTIONAL_BELOW_MINIMUM


def test_an_unsignable_action_is_a_signing_error_without_the_key():
    with pytest.raises(SigningError, match="cannot sign 'order'") as err:
        sign_action(SIGNER, {"type": "order", "x": object()}, NONCE, network=MAIN)
    assert TEST_KEY[2:] not in str(err.value)


def test_cancel_and_leverage_bodies_verify():
    cancel = sign_cancel_by_cloid(SIGNER, 0, CLOID, NONCE, network=MAIN)
    assert cancel["action"] == {"type": "cancelByCloid", "cancels": [{"asset": 0, "cloid": CLOID}]}
    lev = sign_update_leverage(SIGNER, 1, ETH, 20, NONCE + 1, max_leverage=5, network=MAIN)
    assert lev["action"] == {"type": "updateLeverage", "asset": 1, "isCross": False, "leverage": 5}
    for body in (cancel, lev):
        assert verify_signed_body(body_bytes(body), SIGNER.agent_address, network=MAIN)


# ---- the same bytes as the official SDK's Exchange ------------------------------------------


@pytest.fixture
def sdk(monkeypatch) -> tuple[Exchange, list[dict]]:
    """The SDK's own Exchange, offline: meta given, `post` captured, the clock fixed."""
    posted: list[dict] = []
    wallet = Account.from_key(TEST_KEY)
    ex = Exchange(
        wallet, Network.MAINNET.base_url, meta=META, spot_meta={"universe": [], "tokens": []}
    )
    monkeypatch.setattr(ex, "post", lambda path, payload: posted.append(payload) or {"ok": path})
    monkeypatch.setattr(sdk_exchange, "get_timestamp_ms", lambda: NONCE)
    return ex, posted


def test_order_body_is_what_the_sdk_posts(sdk):
    ex, posted = sdk
    ex.order("BTC", True, 0.00012, 104_567.0, {"limit": {"tif": "Ioc"}}, cloid=Cloid(CLOID))
    ours = sign_order(SIGNER, buy(), BTC, 0, network=MAIN)
    assert body_bytes(ours) == body_bytes(posted[-1])


def test_stop_body_is_what_the_sdk_posts(sdk):
    ex, posted = sdk
    trigger = {"trigger": {"triggerPx": 95_000.0, "isMarket": True, "tpsl": "sl"}}
    ex.order("BTC", False, 0.25, 94_050.0, trigger, reduce_only=True, cloid=Cloid(CLOID))
    assert body_bytes(sign_order(SIGNER, stop(), BTC, 0, network=MAIN)) == body_bytes(posted[-1])


def test_cancel_by_cloid_body_is_what_the_sdk_posts(sdk):
    ex, posted = sdk
    ex.cancel_by_cloid("ETH", Cloid(CLOID))
    ours = sign_cancel_by_cloid(SIGNER, 1, CLOID, NONCE, network=MAIN)
    assert body_bytes(ours) == body_bytes(posted[-1])


def test_isolated_leverage_body_is_what_the_sdk_posts(sdk):
    ex, posted = sdk
    ex.update_leverage(5, "ETH", is_cross=False)
    ours = sign_update_leverage(SIGNER, 1, ETH, 10, NONCE, max_leverage=5, network=MAIN)
    assert body_bytes(ours) == body_bytes(posted[-1])


# ---- nonces under concurrency ----------------------------------------------------------------


def test_1000_concurrent_orders_of_one_signer_reach_the_venue_with_increasing_nonces():
    """The engine's pattern (SPEC §E6): inside the signer's lock, take a nonce, sign, send.
    The clock is frozen, so every nonce after the first must run ahead of it."""
    locks, nonces = ScopedLocks(), NonceSource(lambda: NONCE)
    sent: list[bytes] = []

    async def place(i: int) -> None:
        request = buy(size=0.001 + i * 0.00001)
        async with locks.hold("signer", SIGNER.agent_address):
            signed = OrderRequest(
                **{**_fields(request), "nonce": nonces.next(SIGNER.agent_address)}
            )
            body = body_bytes(sign_order(SIGNER, signed, BTC, 0, network=MAIN))
            await asyncio.sleep(0)  # the send: other tasks run meanwhile
            sent.append(body)

    async def run() -> None:
        await asyncio.gather(*(place(i) for i in range(1000)))

    asyncio.run(run())
    sent_nonces = [json.loads(b)["nonce"] for b in sent]
    assert len(sent_nonces) == 1000
    assert all(a < b for a, b in itertools.pairwise(sent_nonces))
    assert sent_nonces[0] == NONCE and nonces.ahead_of_clock == 999
    assert all(verify_signed_body(b, SIGNER.agent_address, network=MAIN) for b in sent)


def test_signing_uses_the_coincurve_backend():
    """The C backend signs ~10x faster than eth-keys' pure Python (bench/hl_signing.py)."""
    assert type(eth_keys.KeyAPI().backend).__name__ == "CoinCurveECCBackend"


def _fields(request: OrderRequest) -> dict:
    return {name: getattr(request, name) for name in OrderRequest.__slots__}


GOLDEN_ORDER_BODY_SHA256 = "67bc627b0e027f0a8d214fe8ede2a440eb5662f3e1faf8b358960316e0a90821"
