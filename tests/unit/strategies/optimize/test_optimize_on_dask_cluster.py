"""Sweeps on a real Dask cluster (a scheduler and two worker processes on 127.0.0.1): the same table as a local
run, also when a worker is killed in the middle of the sweep."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alphintra.errors import OperationFailed, ValidationError
from alphintra.storage.market import generate_bars
from alphintra.strategies.backtest import BacktestConfig, backtest_objective
from alphintra.strategies.executor import Cluster, open_executor
from alphintra.strategies.optimize import evaluate, parse_space, walk_forward, walk_forward_windows
from alphintra.strategies.study import LOSSES, StudySpec, open_study, run_study
from tests.dask_support import DaskProcesses, dask_cluster

DAY = 86_400 * 10**9


def _data() -> tuple[BacktestConfig, dict[str, Any]]:
    bars = generate_bars(["SYN"], periods=250, timeframe="1h", seed=5, start_price=100.0, annual_vol=0.4)
    config = BacktestConfig("sma_cross", ("SYN",), "1h", cash=Decimal(100_000), fee=Decimal("0.001"), seed=7)
    return config, {"SYN": bars.select("time", "open", "high", "low", "close", "volume")}


def test_a_50_set_sweep_survives_a_killed_worker_and_matches_the_local_table(tmp_path: Path) -> None:
    config, frames = _data()
    sets: list[dict[str, int | float | bool | str]] = [
        {"fast": fast, "slow": slow} for fast in range(4, 14) for slow in range(20, 25)
    ]
    assert len(sets) == 50
    local = evaluate(backtest_objective, sets, args=(config, frames), workers=1)
    assert local.failures == 0

    with dask_cluster(tmp_path) as cluster:
        victim = next(iter(cluster.workers))
        done = [0]
        killed: list[str] = []  # the keys the victim was running when it died

        def progress(step: int) -> None:
            # Killed once k runs are done and the victim is busy with one of this sweep's runs: a condition, so
            # the kill always lands mid-sweep, on a worker that holds unfinished work.
            done[0] += step
            if not killed and done[0] >= 10:
                busy = [k for k in cluster.processing(victim) if k.startswith("alphintra-sweep-")]
                if busy:
                    cluster.kill_worker(victim)
                    killed.extend(busy)

        on_cluster = evaluate(
            backtest_objective, sets, args=(config, frames), progress=progress, cluster=cluster.address
        )
        assert killed, "the victim worker was never seen running a task of the sweep"
        assert done[0] == 50  # every run counted once, the re-run ones included
        assert cluster.worker_count() == 1
    assert on_cluster.frame.equals(local.frame)
    assert on_cluster.frame["run"].to_list() == list(range(50))


def _trials(url: str, name: str) -> list[tuple[Any, ...]]:
    return [(t.user_attrs["params"], t.values, t.state) for t in open_study(url, name).trials]


@pytest.fixture(scope="module")
def standing_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    """One cluster for the tests that kill nothing: started once, as a desk's standing cluster would be."""
    with dask_cluster(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster


def test_walk_forward_on_the_cluster_gives_the_local_analysis(standing_cluster: DaskProcesses) -> None:
    config, frames = _data()
    first = int(frames["SYN"]["time"].dt.epoch("ns").min())
    windows = walk_forward_windows(first, first + 10 * DAY, train_ns=4 * DAY, test_ns=2 * DAY)
    space = parse_space(["fast=3:7:2", "slow=12,20"])
    kwargs: dict[str, Any] = {"metric": "sharpe", "args": (config, frames)}
    local = walk_forward(backtest_objective, space, windows, workers=1, **kwargs)
    remote = walk_forward(backtest_objective, space, windows, cluster=standing_cluster.address, **kwargs)
    assert remote.frame().equals(local.frame())
    assert remote.in_sample.frame.equals(local.in_sample.frame)
    assert remote.oos_metrics == local.oos_metrics
    # The same function, shared arguments and keys serve any fan-out: a plain map comes back in item order.
    with open_executor(pow, (2,), cluster=Cluster(standing_cluster.address), name="alphintra-test") as ex:
        assert ex.map([3, 1, 2]) == [9, 1, 4]


def test_a_study_on_the_cluster_draws_and_scores_the_local_trials(
    standing_cluster: DaskProcesses, tmp_path: Path
) -> None:
    config, frames = _data()
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    spec = StudySpec("here", url, "tpe", (LOSSES["sharpe"],), 6, seed=3, workers=2)
    space = parse_space(["fast=3:9", "slow=12:30:2"])
    run_study(backtest_objective, space, spec, args=(config, frames))  # two local worker processes
    there = replace(spec, name="there")
    run_study(backtest_objective, space, there, args=(config, frames), cluster=standing_cluster.address)
    # The same seed and batch size draw the same trials, whose backtests ran on the workers.
    assert _trials(url, "there") == _trials(url, "here") and len(_trials(url, "here")) == 6


def test_an_unreachable_or_malformed_scheduler_address_is_one_clear_error() -> None:
    with pytest.raises(OperationFailed) as failed:
        evaluate(pow, [{"a": 1}], cluster=Cluster("tcp://127.0.0.1:1", connect_timeout=0.5))
    assert failed.value.message == "--cluster: cannot reach the Dask scheduler at tcp://127.0.0.1:1"
    for bad in ("tcp://host", "http://127.0.0.1:8786", "127.0.0.1:70000", ""):
        with pytest.raises(ValidationError) as refused:
            evaluate(pow, [{"a": 1}], cluster=bad)
        assert refused.value.field == "--cluster"
    assert Cluster("127.0.0.1:8786").address == "tcp://127.0.0.1:8786"
    assert Cluster("tls://[::1]:8786", "cluster.address").address == "tls://[::1]:8786"
