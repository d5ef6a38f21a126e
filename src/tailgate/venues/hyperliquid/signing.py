"""Signed `POST /exchange` bodies, through the official SDK (never hand-rolled EIP-712).

An L1 action is signed with the SDK's `sign_l1_action`: msgpack(action) ‖ nonce ‖ vault flag
→ keccak → an EIP-712 "Agent" message whose `source` is "a" on mainnet, "b" on testnet. The
nonce is the action's timestamp in ms, strictly increasing per signer (take it from
`tailgate.engine.locks.NonceSource` inside the signer's lock). We trade no vault and set no
expiry. The body is exactly what the SDK's `Exchange._post_action` posts; ECDSA here is
deterministic (RFC 6979), so the same inputs give the same bytes.

`recover_signer` / `verify_signed_body` undo it the way the venue does (the SDK's
`recover_agent_or_user_from_l1_action`, via eth-account), so a loopback emulator can refuse a
body whose signature does not come from the expected agent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from hyperliquid.utils.constants import MAINNET_API_URL, TESTNET_API_URL
from hyperliquid.utils.signing import recover_agent_or_user_from_l1_action

from tailgate.domain.models import Market
from tailgate.venues.hyperliquid.keys import Signer
from tailgate.venues.hyperliquid.orders import (
    cancel_by_cloid_action,
    order_action,
    order_wire,
    update_leverage_action,
)
from tailgate.venues.protocols import OrderRequest

__all__ = [
    "EXCHANGE_PATH",
    "MAX_NONCE",
    "InvalidSignature",
    "Network",
    "body_bytes",
    "recover_signer",
    "sign_action",
    "sign_cancel_by_cloid",
    "sign_order",
    "sign_update_leverage",
    "verify_signed_body",
]

EXCHANGE_PATH = "/exchange"
MAINNET_STATS_URL = "https://stats-data.hyperliquid.xyz"
TESTNET_STATS_URL = "https://stats-data.hyperliquid-testnet.xyz"
MAX_NONCE = 2**64 - 1  # hashed as 8 big-endian bytes
_WORD = re.compile(r"0x[0-9a-fA-F]{1,64}")  # r and s: 256-bit numbers in hex


class Network(StrEnum):
    MAINNET = "mainnet"
    TESTNET = "testnet"

    @property
    def is_mainnet(self) -> bool:
        return self is Network.MAINNET

    @property
    def base_url(self) -> str:
        return MAINNET_API_URL if self is Network.MAINNET else TESTNET_API_URL

    @property
    def exchange_url(self) -> str:
        return self.base_url + EXCHANGE_PATH

    @property
    def leaderboard_path(self) -> str:
        """Where the network's stats service (and the loopback emulator) serves its leaderboard."""
        return "/Mainnet/leaderboard" if self is Network.MAINNET else "/Testnet/leaderboard"

    @property
    def leaderboard_url(self) -> str:
        """The public leaderboard of the network's own traders: testnet has its own."""
        stats = MAINNET_STATS_URL if self is Network.MAINNET else TESTNET_STATS_URL
        return stats + self.leaderboard_path


class InvalidSignature(ValueError):
    """A body whose signature cannot be recovered (malformed body, signature or nonce)."""


def _check_nonce(nonce: object) -> int:
    if isinstance(nonce, bool) or not isinstance(nonce, int) or not 0 < nonce <= MAX_NONCE:
        raise ValueError(f"nonce must be an int in (0, 2^64): {nonce!r}")
    return nonce


def sign_action(
    signer: Signer, action: Mapping[str, Any], nonce: int, *, network: Network
) -> dict[str, Any]:
    """The JSON body of `POST /exchange` for one signed L1 action."""
    nonce = _check_nonce(nonce)
    signature = signer.sign_l1_action(action, nonce, is_mainnet=network.is_mainnet)
    return {
        "action": action,
        "nonce": nonce,
        "signature": signature,
        "vaultAddress": None,
        "expiresAfter": None,
    }


def body_bytes(body: Mapping[str, Any]) -> bytes:
    """The body as compact JSON, keys in their order (the action's order is the signed one)."""
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")


def sign_order(
    signer: Signer, request: OrderRequest, market: Market, asset: int, *, network: Network
) -> dict[str, Any]:
    """One order, rounded and checked (`orders.order_wire`), signed with `request.nonce`.

    Raises `orders.OrderRefused` before anything is signed when the venue would reject it.
    """
    if request.nonce is None:
        raise ValueError(f"order {request.client_order_id} has no nonce: take one per signer")
    action = order_action([order_wire(request, market, asset)])
    return sign_action(signer, action, request.nonce, network=network)


def sign_cancel_by_cloid(
    signer: Signer, asset: int, client_order_id: str, nonce: int, *, network: Network
) -> dict[str, Any]:
    action = cancel_by_cloid_action(asset, client_order_id)
    return sign_action(signer, action, nonce, network=network)


def sign_update_leverage(
    signer: Signer,
    asset: int,
    market: Market,
    leverage: float,
    nonce: int,
    *,
    max_leverage: float,
    network: Network,
) -> dict[str, Any]:
    action = update_leverage_action(asset, market, leverage, max_leverage=max_leverage)
    return sign_action(signer, action, nonce, network=network)


def _as_body(body: Mapping[str, Any] | bytes | str) -> Mapping[str, Any]:
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidSignature(f"body is not JSON: {exc}") from None
    if not isinstance(body, Mapping):
        raise InvalidSignature("body is not a JSON object")
    return body


def recover_signer(body: Mapping[str, Any] | bytes | str, *, network: Network) -> str:
    """The (lower-case) address that signed `body`, as the venue recovers it. A valid but
    wrong signature recovers some other address; only a malformed one raises."""
    body = _as_body(body)
    action, nonce, signature = body.get("action"), body.get("nonce"), body.get("signature")
    if not isinstance(action, Mapping) or not isinstance(action.get("type"), str):
        raise InvalidSignature("body has no action with a type")
    try:
        nonce = _check_nonce(nonce)
    except ValueError as exc:
        raise InvalidSignature(str(exc)) from None
    if not (
        isinstance(signature, Mapping)
        and isinstance(signature.get("r"), str)
        and _WORD.fullmatch(signature["r"])
        and isinstance(signature.get("s"), str)
        and _WORD.fullmatch(signature["s"])
        and type(signature.get("v")) is int
        and signature["v"] in (27, 28)
    ):
        raise InvalidSignature("signature must be {'r': 0x-hex, 's': 0x-hex, 'v': 27 or 28}")
    vault, expires = body.get("vaultAddress"), body.get("expiresAfter")
    if vault is not None and not isinstance(vault, str):
        raise InvalidSignature("vaultAddress must be null or an address")
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)):
        raise InvalidSignature("expiresAfter must be null or an int")
    vrs = {"r": signature["r"], "s": signature["s"], "v": signature["v"]}
    try:
        address = recover_agent_or_user_from_l1_action(
            dict(action), vrs, vault, nonce, expires, network.is_mainnet
        )
    except Exception as exc:  # unserialisable action, r/s not hex, v not 27/28, s too high
        raise InvalidSignature(f"cannot recover a signer: {type(exc).__name__}") from None
    return str(address).lower()


def verify_signed_body(
    body: Mapping[str, Any] | bytes | str, signer_address: str, *, network: Network
) -> bool:
    """True when `body` is signed by `signer_address` for `network` (any malformation: False)."""
    try:
        return recover_signer(body, network=network) == signer_address.lower()
    except InvalidSignature:
        return False
