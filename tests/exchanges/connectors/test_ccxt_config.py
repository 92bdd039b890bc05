"""The --ccxt-config file: deep-merged into ccxt's constructor config over each exchange's
defaults, connector tuning layered, and any bad file refused with one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchanges.connectors.ccxt_config import (
    CcxtConfigError,
    ConnectorSettings,
    deep_merge,
    load_ingest_config,
    parse_ingest_config,
)
from exchanges.connectors.ccxt_connector import build_connector
from exchanges.connectors.exchanges import adapter_for
from exchanges.connectors.runner import BackoffPolicy
from exchanges.connectors.symbols import StaticSymbols


def test_deep_merge_merges_objects_and_replaces_everything_else() -> None:
    base: dict[str, Any] = {
        "urls": {"api": {"public": "https://a", "private": "https://b"}},
        "options": {"types": ["spot", "swap"]},
    }
    override = {"urls": {"api": {"public": "http://127.0.0.1:1"}}, "options": {"types": ["spot"]}, "timeout": 5}
    merged = deep_merge(base, override)
    assert merged == {
        "urls": {"api": {"public": "http://127.0.0.1:1", "private": "https://b"}},
        "options": {"types": ["spot"]},
        "timeout": 5,
    }
    assert base["urls"]["api"]["public"] == "https://a"  # inputs untouched


def test_an_exchange_entry_goes_to_ccxt_over_its_module_defaults() -> None:
    config = parse_ingest_config(
        {"binance": {"urls": {"api": {"public": "http://127.0.0.1:9/api/v3"}}, "connector": {"batch_size": 5}}}
    )
    adapter = adapter_for("binance")
    ccxt_config = config.ccxt_config("binance", adapter.ccxt_defaults)
    assert ccxt_config["urls"] == {"api": {"public": "http://127.0.0.1:9/api/v3"}}
    assert ccxt_config["options"]["fetchMarkets"] == {"types": ["spot"]}  # the module's default kept
    assert ccxt_config["enableRateLimit"] is True  # what paces snapshot requests
    assert "connector" not in ccxt_config


def test_connector_settings_layer_module_then_file_then_exchange() -> None:
    config = parse_ingest_config(
        {
            "connector": {"silence_sec": 12, "depth": 10},
            "kraken": {"connector": {"depth": 20}},
            "backoff": {"initial": 0.5, "cap": 8},
        }
    )
    kraken = config.settings("kraken", adapter_for("kraken").settings_defaults)
    assert (kraken.depth, kraken.silence_sec, kraken.watch_limit) == (20, 12.0, 25)
    binance = config.settings("binance", adapter_for("binance").settings_defaults)
    assert (binance.depth, binance.batch_size, binance.watch_limit) == (10, 20, 100)
    assert binance.reconnect == BackoffPolicy(initial=0.5, cap=8)


def test_no_file_means_defaults_and_a_connector_for_any_of_the_14(tmp_path: Path) -> None:
    config = load_ingest_config(None)
    assert config.settings("gemini", {}) == ConnectorSettings()
    connector = build_connector("gemini", config, StaticSymbols(["BTC-USD"]))
    assert connector.name == "gemini" and connector.settings.batch_size == 50


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "expected a JSON object of exchange ids, got list"),
        ({"ftx": {}}, "unknown exchange 'ftx'"),
        ({"okx": "x"}, "okx: expected an object, got str"),
        ({"okx": {"options": 3}}, "okx.options: expected an object, got int"),
        ({"connector": {"silence": 3}}, "connector: unknown setting 'silence'"),
        ({"connector": {"publish_interval": "fast"}}, "connector.publish_interval: expected a number, got 'fast'"),
        ({"connector": {"batch_size": 2.5}}, "connector.batch_size: expected a whole number, got 2.5"),
        ({"okx": {"connector": {"book_silence_sec": 0}}}, "okx.connector: book_silence_sec must be > 0"),
        ({"backoff": {"cap": 0.1, "initial": 1}}, "backoff: backoff needs initial > 0"),
        ({"backoff": {"retries": 3}}, "backoff: unknown setting(s) retries"),
    ],
)
def test_bad_documents_name_the_key_at_fault(raw: Any, message: str) -> None:
    with pytest.raises(CcxtConfigError) as caught:
        parse_ingest_config(raw, "ccxt.json")
    assert message in str(caught.value)
    assert str(caught.value).startswith("ccxt.json: ") and "\n" not in str(caught.value)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(CcxtConfigError, match="cannot read the ccxt config"):
        load_ingest_config(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "okx": {,}\n}')
    with pytest.raises(CcxtConfigError, match=r"broken.json:2: invalid JSON"):
        load_ingest_config(broken)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
documents = st.dictionaries(
    st.sampled_from(["binance", "okx", "kraken", "connector", "backoff", "nope"]),
    json_values
    | st.fixed_dictionaries(
        {},
        optional={
            "urls": json_values,
            "options": json_values,
            "connector": st.dictionaries(
                st.sampled_from(["depth", "batch_size", "silence_sec", "watch_limit", "x"]), json_values, max_size=3
            ),
        },
    ),
    max_size=4,
)


@settings(deadline=None, max_examples=300)
@given(raw=st.one_of(json_values, documents))
def test_any_json_document_is_accepted_or_refused_cleanly(raw: Any) -> None:
    orjson.dumps(raw)  # it is a JSON document
    try:
        config = parse_ingest_config(raw, "f.json")
    except CcxtConfigError as exc:
        assert str(exc).startswith("f.json: ") and "\n" not in str(exc)
        return
    for exchange in ("binance", "okx", "kraken"):  # accepted: every exchange gets usable settings
        assert isinstance(config.settings(exchange, adapter_for(exchange).settings_defaults), ConnectorSettings)
        assert isinstance(config.ccxt_config(exchange, adapter_for(exchange).ccxt_defaults), dict)
