"""The Hyperliquid signer: an API ("agent") wallet key, loaded only from the environment or an
encrypted keystore (SPEC §S), plus the master account address the agent trades for.

The key never leaves a `Signer`: no attribute, repr, log line or exception carries it. Raw key
and password text lives only inside short helpers that return `None` on failure, so the
exceptions raised here have no chained cause and no traceback frame holding the secret (rich
tracebacks that print locals see `SecretStr('**********')`). A `Signer` refuses to be pickled.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import eth_keyfile
from eth_account import Account
from hyperliquid.utils.signing import sign_l1_action
from pydantic import SecretStr

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from tailgate.config import Settings

__all__ = [
    "ACCOUNT_ADDRESS_ENV",
    "KEYSTORE_ENV",
    "KEYSTORE_PASSWORD_ENV",
    "PRIVATE_KEY_ENV",
    "KeyLoadError",
    "Signer",
    "SigningError",
    "load_signer",
    "signer_from_env",
    "signer_from_keystore",
    "signer_from_private_key",
    "signer_from_settings",
]

# The first two are `Settings.hyperliquid_private_key` / `hyperliquid_account_address`.
PRIVATE_KEY_ENV = "TAILGATE_HYPERLIQUID_PRIVATE_KEY"
ACCOUNT_ADDRESS_ENV = "TAILGATE_HYPERLIQUID_ACCOUNT_ADDRESS"
KEYSTORE_ENV = "TAILGATE_HYPERLIQUID_KEYSTORE"
KEYSTORE_PASSWORD_ENV = "TAILGATE_HYPERLIQUID_KEYSTORE_PASSWORD"

_KEY_HEX = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

PasswordPrompt = Callable[[str], str]  # e.g. getpass.getpass: gets the prompt text


class KeyLoadError(Exception):
    """The signer cannot be built; the message names the source and the fix, never the key."""


class SigningError(Exception):
    """An action could not be signed (the message says why, never with the key)."""


class Signer:
    """Signs Hyperliquid L1 actions with the agent key; shows only addresses.

    `agent_address` is the key's own address (the one the venue recovers from a signature);
    `account_address` is the master account whose positions the agent trades (the same
    address when the key is the master's own). Both are lower-case `0x` + 40 hex.
    """

    __slots__ = ("_wallet", "account_address", "agent_address")

    def __init__(self, wallet: LocalAccount, account_address: str) -> None:
        self._wallet = wallet
        self.agent_address: str = wallet.address.lower()
        self.account_address: str = _address(account_address, "account address")

    @property
    def is_agent(self) -> bool:
        """True when an API wallet trades for another (master) account."""
        return self.agent_address != self.account_address

    def sign_l1_action(self, action: Mapping[str, Any], nonce: int, *, is_mainnet: bool) -> dict:
        """The SDK's `sign_l1_action` (no vault, no expiry): {"r", "s", "v"}."""
        signature, failure = _sign(self._wallet, action, nonce, is_mainnet)
        if signature is None:
            raise SigningError(f"cannot sign {action.get('type')!r} action: {failure}")
        return signature

    def __repr__(self) -> str:
        return f"Signer(agent={self.agent_address}, account={self.account_address})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Signer holds a private key and cannot be pickled or copied")


def _sign(
    wallet: LocalAccount, action: Mapping[str, Any], nonce: int, is_mainnet: bool
) -> tuple[dict | None, str]:
    try:
        return sign_l1_action(wallet, action, None, nonce, None, is_mainnet), ""
    except Exception as exc:  # the action's fault (unserialisable value, bad nonce)
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def _address(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not _ADDRESS.fullmatch(text):
        raise KeyLoadError(f"{what} must be 0x followed by 40 hex digits, got {text[:50]!r}")
    return text.lower()


def _secret(value: SecretStr | str | None) -> SecretStr | None:
    return value if value is None or isinstance(value, SecretStr) else SecretStr(value)


def _account_from_key(key: SecretStr) -> LocalAccount | None:
    """The account of a hex key, or None (the caller raises without a secret in scope)."""
    raw = key.get_secret_value().strip()
    if not _KEY_HEX.fullmatch(raw):
        return None
    try:
        return Account.from_key(raw)
    except Exception:  # zero or above the curve order
        return None


def _account_from_keystore(keystore: Mapping[str, Any], password: SecretStr) -> LocalAccount | None:
    try:
        raw = eth_keyfile.decode_keyfile_json(
            dict(keystore), password.get_secret_value().encode("utf-8")
        )
        return Account.from_key(raw)
    except Exception:  # MAC mismatch (wrong password), corrupt ciphertext, unknown KDF
        return None


def signer_from_private_key(private_key: SecretStr | str, account_address: str) -> Signer:
    """A signer from a hex private key (64 hex digits, `0x` optional)."""
    secret = _secret(private_key)
    del private_key  # no raw key text left in this frame
    assert secret is not None
    wallet = _account_from_key(secret)
    if wallet is None:
        raise KeyLoadError(
            "the Hyperliquid private key is malformed: expected 64 hex digits (32 bytes), "
            f"optionally 0x-prefixed, of a valid secp256k1 key (check {PRIVATE_KEY_ENV})"
        )
    return Signer(wallet, account_address)


def signer_from_keystore(
    path: Path | str,
    account_address: str,
    *,
    password: SecretStr | str | None = None,
    password_prompt: PasswordPrompt | None = None,
) -> Signer:
    """A signer from an encrypted JSON keystore (Web3 Secret Storage, via eth-keyfile); the
    password is given, or asked for through `password_prompt` (e.g. `getpass.getpass`)."""
    path = Path(path)
    secret = _secret(password)
    del password
    try:
        keystore = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyLoadError(f"keystore {path} does not exist (check {KEYSTORE_ENV})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeyLoadError(f"keystore {path} is not a readable JSON keystore: {exc}") from None
    if not isinstance(keystore, dict):
        raise KeyLoadError(f"keystore {path} is not a JSON keystore (not an object)")
    keystore = {str(k).lower(): v for k, v in keystore.items()}  # old geth files: "Crypto"
    if "crypto" not in keystore:
        raise KeyLoadError(f"keystore {path} is not a JSON keystore (no 'crypto' section)")
    if secret is None:
        if password_prompt is None:
            raise KeyLoadError(
                f"keystore {path} needs a password: set {KEYSTORE_PASSWORD_ENV} or run "
                "interactively"
            )
        secret = _secret(password_prompt(f"Password for keystore {path}: "))
        assert secret is not None
    wallet = _account_from_keystore(keystore, secret)
    if wallet is None:
        raise KeyLoadError(f"cannot decrypt keystore {path}: wrong password or corrupted file")
    stated = str(keystore.get("address") or "").lower().removeprefix("0x")
    if stated and stated != wallet.address.lower().removeprefix("0x"):
        raise KeyLoadError(
            f"keystore {path} states address 0x{stated[:40]} but holds the key of "
            f"{wallet.address.lower()}: the file is inconsistent"
        )
    return Signer(wallet, account_address)


def load_signer(
    *,
    private_key: SecretStr | str | None = None,
    account_address: str | None = None,
    keystore_path: Path | str | None = None,
    keystore_password: SecretStr | str | None = None,
    password_prompt: PasswordPrompt | None = None,
) -> Signer:
    """The signer from exactly one source: a private key or a keystore file."""
    key, password = _secret(private_key), _secret(keystore_password)
    del private_key, keystore_password
    has_key = key is not None and bool(key.get_secret_value().strip())
    if has_key and keystore_path:
        raise KeyLoadError(
            f"both {PRIVATE_KEY_ENV} and {KEYSTORE_ENV} are set: keep only one key source"
        )
    if not has_key and not keystore_path:
        raise KeyLoadError(
            f"no Hyperliquid key: set {PRIVATE_KEY_ENV} (an API wallet's key is recommended) "
            f"or {KEYSTORE_ENV} (an encrypted keystore file)"
        )
    if not account_address:
        raise KeyLoadError(
            f"{ACCOUNT_ADDRESS_ENV} is not set: the master account the API wallet trades for "
            "(the key's own address if it is the master key)"
        )
    _address(account_address, ACCOUNT_ADDRESS_ENV)  # before a slow keystore decryption
    if has_key:
        assert key is not None
        return signer_from_private_key(key, account_address)
    assert keystore_path
    return signer_from_keystore(
        keystore_path, account_address, password=password, password_prompt=password_prompt
    )


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The non-settings sources, secrets wrapped at once (no frame keeps the mapping)."""
    password = environ.get(KEYSTORE_PASSWORD_ENV)
    return {
        "keystore_path": environ.get(KEYSTORE_ENV) or None,
        "keystore_password": None if password is None else SecretStr(password),
    }


def signer_from_env(
    environ: Mapping[str, str] | None = None, *, password_prompt: PasswordPrompt | None = None
) -> Signer:
    """The signer from `TAILGATE_HYPERLIQUID_*` variables (see the module constants)."""
    env = os.environ if environ is None else environ
    key = env.get(PRIVATE_KEY_ENV)
    sources = _from_env(env) | {
        "private_key": None if key is None else SecretStr(key),
        "account_address": env.get(ACCOUNT_ADDRESS_ENV),
    }
    del env, environ, key  # a traceback printing locals must not show the environment
    return load_signer(**sources, password_prompt=password_prompt)


def signer_from_settings(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    *,
    password_prompt: PasswordPrompt | None = None,
) -> Signer:
    """The signer from validated settings (key and account); the keystore path and password,
    which are not settings, come from the environment."""
    sources = _from_env(os.environ if environ is None else environ)
    del environ
    return load_signer(
        private_key=settings.hyperliquid_private_key,
        account_address=settings.hyperliquid_account_address,
        password_prompt=password_prompt,
        **sources,
    )
