"""Hyperliquid order signing time, per order, through the official SDK.

    python bench/hl_signing.py [--orders N]

What is timed: `sign_order` for one IOC order — rounding and checks, the SDK's wire and
action, msgpack + keccak of the action, the EIP-712 "Agent" message, the ECDSA signature —
plus `body_bytes` (the JSON sent). Each order gets the next nonce, so every signature is new.
Best of 5 passes of N orders after a warm-up; the figure is microseconds per order.

Figures (`METRIC <name> <value> <unit>`):
- hl_sign_order_us: with the backend eth-keys picks here (coincurve, a dependency).
- hl_sign_order_native_us: the same in a child process forced onto eth-keys' pure-Python
  backend (`ECC_BACKEND_CLASS=eth_keys.backends.NativeECCBackend`), for comparison.
- hl_verify_order_us: recovering the signer from a body (what the loopback emulator does).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time

import eth_keys

from tailgate.domain.models import Market
from tailgate.venues.hyperliquid.keys import signer_from_private_key
from tailgate.venues.hyperliquid.signing import Network, body_bytes, sign_order, verify_signed_body
from tailgate.venues.protocols import OrderRequest

NATIVE_BACKEND = "eth_keys.backends.NativeECCBackend"
BTC = Market("BTC", sz_decimals=5, max_leverage=40)
NONCE = 1_750_000_000_000


def metric(name: str, value: float, unit: str) -> None:
    print(f"METRIC {name} {value:.6g} {unit}", flush=True)


def sign_us(orders: int) -> tuple[float, float]:
    key = "0x" + hashlib.sha256(b"tailgate bench agent key").hexdigest()  # not a real key
    signer = signer_from_private_key(key, "0x" + "5a" * 20)
    requests = [
        OrderRequest("0x" + f"{i:032x}", "BTC", True, 0.001, 104_567.8, nonce=NONCE + i)
        for i in range(orders)
    ]
    for r in requests[:20]:  # warm-up
        sign_order(signer, r, BTC, 0, network=Network.MAINNET)
    best = float("inf")
    bodies: list[bytes] = []
    for _ in range(5):
        start = time.perf_counter()
        bodies = [
            body_bytes(sign_order(signer, r, BTC, 0, network=Network.MAINNET)) for r in requests
        ]
        best = min(best, time.perf_counter() - start)
    start = time.perf_counter()
    ok = all(verify_signed_body(b, signer.agent_address, network=Network.MAINNET) for b in bodies)
    verify = time.perf_counter() - start
    assert ok, "a body did not verify"
    return best / orders * 1e6, verify / orders * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    per_order, verify = sign_us(args.orders)
    if args.child:
        print(f"{per_order}")
        return 0
    print(f"# eth-keys backend: {type(eth_keys.KeyAPI().backend).__name__}", flush=True)
    metric("hl_sign_order_us", per_order, "us")
    metric("hl_verify_order_us", verify, "us")
    native = subprocess.run(
        [sys.executable, __file__, "--child", "--orders", str(max(args.orders // 5, 50))],
        env={**os.environ, "ECC_BACKEND_CLASS": NATIVE_BACKEND},
        capture_output=True,
        text=True,
        check=True,
    )
    metric("hl_sign_order_native_us", float(native.stdout.strip().splitlines()[-1]), "us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
