"""`optimize --cluster` and `backtest run --strategy-list --cluster` through the real entry point, on a real Dask
scheduler with two worker processes on 127.0.0.1; and the refusals of a bad or unreachable address."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dask_support import dask_cluster

# Two years of the daily sample: enough trades to tell runs apart, few bars so that the test stays short.
YEARS = ("--timerange", "20120101-20140101")
SWEEP = (
    "optimize",
    "sma_cross",
    "-s",
    "GOOG",
    *YEARS,
    "-p",
    "fast=5:25:5",
    "-p",
    "slow=30,40",
    "--top",
    "10",
    "--json",
)
LIST = ("backtest", "run", "-s", "GOOG", *YEARS, "--strategy-list", "sma_cross,donchian", "--json")


def _comparison(out: str) -> list[dict[str, object]]:
    return [{k: v for k, v in row.items() if k != "run_id"} for row in json.loads(out)]


def test_optimize_and_a_strategy_list_on_the_cluster_print_the_local_results(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("data", "sample").code == 0
    local = run_cli(*SWEEP, "--workers", "1")
    assert local.code == 0, local.err
    local_list = run_cli(*LIST)
    assert local_list.code == 0, local_list.err
    with dask_cluster(tmp_path / "dask") as cluster:
        remote = run_cli(*SWEEP, "--cluster", cluster.address)
        assert remote.code == 0, remote.err
        assert json.loads(remote.out) == json.loads(local.out)
        # The config's [cluster] address is used when no --cluster is given.
        monkeypatch.setenv("ALPHINTRA_CLUSTER__ADDRESS", cluster.address)
        remote_list = run_cli(*LIST)
        assert remote_list.code == 0, remote_list.err
    assert _comparison(remote_list.out) == _comparison(local_list.out)
    runs = json.loads(run_cli("backtest", "list", "--json").out)
    assert [r["strategy"] for r in runs].count("donchian") == 2  # each listed run recorded once per invocation


def test_a_bad_or_unreachable_cluster_is_one_message_naming_where_it_came_from(  # type: ignore[no-untyped-def]
    run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("data", "sample").code == 0
    monkeypatch.setenv("ALPHINTRA_CLUSTER__CONNECT_TIMEOUT", "0.5")
    sweep = ("optimize", "sma_cross", "-s", "GOOG", "-p", "fast=5:10:5", "-p", "slow=30")
    down = run_cli(*sweep, "--cluster", "tcp://127.0.0.1:1")
    assert down.code == 1
    assert " ".join(down.err.split()).startswith(
        "error: --cluster: cannot reach the Dask scheduler at tcp://127.0.0.1:1 "
    )
    assert "Traceback" not in down.err and down.out == ""
    listed = run_cli(*LIST, "--cluster", "127.0.0.1:1")
    said = " ".join(listed.err.split())
    assert listed.code == 1 and "--cluster: cannot reach the Dask scheduler at tcp://127.0.0.1:1" in said
    assert json.loads(run_cli("backtest", "list", "--json").out) == []  # nothing ran, nothing was recorded
    for argv, message in (
        ((*sweep, "--cluster", "tcp://nohost"), "--cluster: must be a Dask scheduler address tcp://HOST:PORT"),
        ((*sweep, "--cluster", "tcp://127.0.0.1:0"), "--cluster: must be a Dask scheduler address tcp://HOST:PORT"),
        (
            ("backtest", "run", "sma_cross", "-s", "GOOG", "--cluster", "tcp://127.0.0.1:8786"),
            "--cluster: applies to --strategy-list runs",
        ),
    ):
        refused = run_cli(*argv)
        assert refused.code == 2, (argv, refused.err)
        assert message in " ".join(refused.err.split()) and "Traceback" not in refused.err
    monkeypatch.setenv("ALPHINTRA_CLUSTER__ADDRESS", "tcp://127.0.0.1:1")
    from_config = run_cli(*sweep)
    assert from_config.code == 1
    said = " ".join(from_config.err.split())
    assert "cluster.address (config): cannot reach the Dask scheduler at tcp://127.0.0.1:1" in said
    monkeypatch.setenv("ALPHINTRA_CLUSTER__ADDRESS", "somewhere")
    bad_config = run_cli(*sweep)
    assert bad_config.code == 2 and "cluster.address" in bad_config.err and "tcp://HOST:PORT" in bad_config.err
