"""The agent key comes from the environment or an encrypted keystore, and never shows (SPEC §S):
not in a repr, a log line, an exception message, its chained causes or its traceback's frames."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import traceback
from pathlib import Path

import eth_keyfile
import pytest
import structlog
from eth_account import Account

from tailgate.config import Settings
from tailgate.logs import configure_logging
from tailgate.venues.hyperliquid.keys import (
    ACCOUNT_ADDRESS_ENV,
    KEYSTORE_ENV,
    KEYSTORE_PASSWORD_ENV,
    PRIVATE_KEY_ENV,
    KeyLoadError,
    Signer,
    load_signer,
    signer_from_env,
    signer_from_keystore,
    signer_from_private_key,
    signer_from_settings,
)

# Generated here, never a real key: sha256 of a fixed phrase.
TEST_KEY_HEX = hashlib.sha256(b"tailgate test agent key").hexdigest()
TEST_KEY = "0x" + TEST_KEY_HEX
AGENT = Account.from_key(TEST_KEY).address.lower()
MASTER = "0x" + "5a" * 20
PASSWORD = "correct horse battery staple"


def _secret_forms(secret: str) -> list[str]:
    bare = secret.removeprefix("0x")
    return [bare, bare.upper(), bare.lower(), bare[:32], bare[32:]]


def assert_no_secret(text: str, secret: str) -> None:
    for form in _secret_forms(secret):
        assert form not in text, "a secret leaked"


def assert_exception_clean(exc: BaseException, secret: str) -> None:
    """The message, the printed traceback with its chain, and every frame's locals (what a
    rich traceback with show_locals would print) of our code are free of the secret."""
    assert_no_secret(str(exc), secret)
    assert_no_secret(repr(exc), secret)
    assert_no_secret("".join(traceback.format_exception(exc)), secret)
    for chained in (exc.__cause__, exc.__context__):
        if chained is not None:
            assert_no_secret(str(chained), secret)
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == __file__:
            continue  # the test's own frame holds the secret it passed in
        for name, value in frame.f_locals.items():
            assert_no_secret(f"{name}={value!r}", secret)


def _keystore(tmp_path: Path, key_hex: str = TEST_KEY_HEX, password: str = PASSWORD) -> Path:
    # pbkdf2 with 2 iterations: fast to test; real keystores use scrypt (also supported)
    data = eth_keyfile.create_keyfile_json(
        bytes.fromhex(key_hex), password.encode(), kdf="pbkdf2", iterations=2
    )
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(data))
    return path


def test_signer_from_private_key_shows_the_agent_and_account_addresses_only():
    signer = signer_from_private_key(TEST_KEY, MASTER)
    assert signer.agent_address == AGENT
    assert signer.account_address == MASTER
    assert signer.is_agent
    assert repr(signer) == str(signer) == f"Signer(agent={AGENT}, account={MASTER})"
    assert_no_secret(repr(signer) + str(signer) + format(signer), TEST_KEY)
    assert not hasattr(signer, "__dict__")


def test_key_without_0x_prefix_and_with_whitespace_loads():
    signer = signer_from_private_key(f"  {TEST_KEY_HEX.upper()}\n", AGENT)
    assert signer.agent_address == AGENT
    assert not signer.is_agent  # the master key trades its own account


def test_signer_cannot_be_pickled_or_deep_copied():
    import copy

    signer = signer_from_private_key(TEST_KEY, MASTER)
    with pytest.raises(TypeError, match="cannot be pickled") as err:
        pickle.dumps(signer)
    assert_exception_clean(err.value, TEST_KEY)
    with pytest.raises(TypeError):
        copy.deepcopy(signer)


@pytest.mark.parametrize(
    "bad_key",
    [
        TEST_KEY[:-1],  # 63 hex digits
        TEST_KEY + "0",  # 65
        TEST_KEY[:-2] + "zz",  # not hex
        "0x" + "00" * 32,  # zero: not a secp256k1 key
        "0x" + "ff" * 32,  # above the curve order
        "0x0x" + TEST_KEY_HEX,
    ],
)
def test_malformed_key_is_a_clear_error_without_the_key(bad_key):
    with pytest.raises(KeyLoadError, match="malformed") as err:
        signer_from_private_key(bad_key, MASTER)
    assert PRIVATE_KEY_ENV in str(err.value)
    assert err.value.__cause__ is None and err.value.__context__ is None
    assert_exception_clean(err.value, bad_key)


def test_bad_account_address_is_refused_by_name():
    with pytest.raises(KeyLoadError, match="account address must be 0x"):
        signer_from_private_key(TEST_KEY, "0x1234")


def test_keystore_with_password(tmp_path):
    signer = signer_from_keystore(_keystore(tmp_path), MASTER, password=PASSWORD)
    assert signer.agent_address == AGENT and signer.account_address == MASTER


def test_keystore_password_from_a_prompt_callback(tmp_path):
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return PASSWORD

    path = _keystore(tmp_path)
    signer = signer_from_keystore(path, MASTER, password_prompt=prompt)
    assert signer.agent_address == AGENT
    assert asked == [f"Password for keystore {path}: "]


def test_wrong_keystore_password_is_an_error_without_password_or_key(tmp_path):
    wrong = "not the password at all"
    with pytest.raises(KeyLoadError, match="wrong password or corrupted") as err:
        signer_from_keystore(_keystore(tmp_path), MASTER, password=wrong)
    assert err.value.__cause__ is None and err.value.__context__ is None
    assert_exception_clean(err.value, TEST_KEY)
    assert wrong not in str(err.value)
    for frame, _ in traceback.walk_tb(err.value.__traceback__):
        if frame.f_code.co_filename != __file__:
            assert all(wrong not in repr(v) for v in frame.f_locals.values())


def test_keystore_without_password_or_prompt_says_how_to_give_one(tmp_path):
    with pytest.raises(KeyLoadError, match=KEYSTORE_PASSWORD_ENV):
        signer_from_keystore(_keystore(tmp_path), MASTER)


def test_missing_and_non_keystore_files_are_clear_errors(tmp_path):
    with pytest.raises(KeyLoadError, match="does not exist"):
        signer_from_keystore(tmp_path / "nope.json", MASTER, password=PASSWORD)
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    with pytest.raises(KeyLoadError, match="not a readable JSON keystore"):
        signer_from_keystore(junk, MASTER, password=PASSWORD)
    junk.write_text('{"address": "x"}')
    with pytest.raises(KeyLoadError, match="no 'crypto' section"):
        signer_from_keystore(junk, MASTER, password=PASSWORD)


def test_keystore_stating_another_address_is_refused(tmp_path):
    path = _keystore(tmp_path)
    data = json.loads(path.read_text())
    data["address"] = "11" * 20
    path.write_text(json.dumps(data))
    with pytest.raises(KeyLoadError, match="inconsistent") as err:
        signer_from_keystore(path, MASTER, password=PASSWORD)
    assert_exception_clean(err.value, TEST_KEY)


def test_env_private_key_and_account(monkeypatch):
    env = {PRIVATE_KEY_ENV: TEST_KEY, ACCOUNT_ADDRESS_ENV: MASTER}
    signer = signer_from_env(env)
    assert (signer.agent_address, signer.account_address) == (AGENT, MASTER)


def test_env_keystore_and_password(tmp_path):
    env = {
        KEYSTORE_ENV: str(_keystore(tmp_path)),
        KEYSTORE_PASSWORD_ENV: PASSWORD,
        ACCOUNT_ADDRESS_ENV: MASTER,
    }
    assert signer_from_env(env).agent_address == AGENT


def test_settings_reuse_the_redacted_private_key_setting(monkeypatch):
    monkeypatch.setenv(PRIVATE_KEY_ENV, TEST_KEY)
    monkeypatch.setenv(ACCOUNT_ADDRESS_ENV, MASTER)
    settings = Settings()
    assert_no_secret(repr(settings), TEST_KEY)
    signer = signer_from_settings(settings, environ={})
    assert (signer.agent_address, signer.account_address) == (AGENT, MASTER)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({ACCOUNT_ADDRESS_ENV: MASTER}, "no Hyperliquid key"),
        ({PRIVATE_KEY_ENV: "  ", ACCOUNT_ADDRESS_ENV: MASTER}, "no Hyperliquid key"),
        ({PRIVATE_KEY_ENV: TEST_KEY}, f"{ACCOUNT_ADDRESS_ENV} is not set"),
        ({PRIVATE_KEY_ENV: TEST_KEY, ACCOUNT_ADDRESS_ENV: "me"}, ACCOUNT_ADDRESS_ENV),
        (
            {PRIVATE_KEY_ENV: TEST_KEY, KEYSTORE_ENV: "/k.json", ACCOUNT_ADDRESS_ENV: MASTER},
            "keep only one key source",
        ),
    ],
)
def test_env_problems_name_the_variable_and_never_the_key(env, message):
    with pytest.raises(KeyLoadError, match=message) as err:
        signer_from_env(env)
    assert_exception_clean(err.value, TEST_KEY)


def test_load_signer_from_the_real_environment_hides_the_environment_in_tracebacks(
    monkeypatch,
):
    monkeypatch.setenv(PRIVATE_KEY_ENV, TEST_KEY)
    monkeypatch.delenv(ACCOUNT_ADDRESS_ENV, raising=False)
    monkeypatch.delenv(KEYSTORE_ENV, raising=False)
    with pytest.raises(KeyLoadError) as err:
        signer_from_env()
    assert_exception_clean(err.value, TEST_KEY)


def test_logs_of_the_signer_and_of_key_errors_carry_no_secret(capsys, tmp_path):
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream=stream)
    try:
        log = structlog.get_logger("keys-test")
        signer = load_signer(private_key=TEST_KEY, account_address=MASTER)
        log.info("signer_loaded", signer=signer, agent=signer.agent_address)
        for attempt in (
            lambda: signer_from_private_key(TEST_KEY[:-1] + "g", MASTER),
            lambda: signer_from_keystore(_keystore(tmp_path), MASTER, password="wrong"),
        ):
            try:
                attempt()
            except KeyLoadError as exc:
                log.error("signer_failed", error=str(exc), exc_info=exc)
    finally:
        structlog.reset_defaults()
    out = stream.getvalue()
    assert AGENT in out and "signer_failed" in out
    assert_no_secret(out, TEST_KEY)
    assert_no_secret(out, TEST_KEY[:-1] + "g")


def test_signer_is_built_only_through_a_wallet():
    signer = Signer(Account.from_key(TEST_KEY), MASTER.upper().replace("0X", "0x"))
    assert signer.account_address == MASTER
