"""Two `alphintra optimize` processes started together on one study in PostgreSQL share its trial budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pg_support import scratch_schema

pytestmark = pytest.mark.postgres

# The GOOG daily slice of the study e2e tests: a grid of 72 sets, 9 of which sma_cross refuses (fast >= slow).
SLICE = ("sma_cross", "-s", "GOOG", "--start", "2011-01-01", "--end", "2012-07-01", "--workers", "1", "--cash", "10000")
GRID = ("-p", "fast=5:40:5", "-p", "slow=20:100:10", "--search", "grid", "--trials", "50")


def _ran(study: object) -> list[tuple[tuple[int, int], float]]:
    """(fast, slow) and sharpe of every trial that ran a backtest, in trial order."""
    return [
        ((t.user_attrs["params"]["fast"], t.user_attrs["params"]["slow"]), t.values[0])
        for t in study.trials  # type: ignore[attr-defined]
        if t.state.name == "COMPLETE" and "repeat_of" not in t.user_attrs
    ]


def test_two_processes_share_one_postgres_study_and_finish_its_trials_once(
    run_cli, isolated_home: Path, pg_url: str
) -> None:  # type: ignore[no-untyped-def]
    import optuna

    assert run_cli("data", "sample").code == 0
    # The yardstick: one process walks the first 50 points of the grid in its own SQLite study.
    alone = run_cli("optimize", *SLICE, *GRID, "--study", "alone", "--json")
    assert alone.code == 0, alone.err
    assert json.loads(alone.out)["trials"] + json.loads(alone.out)["skipped"] == 50
    single = optuna.load_study(study_name="alone", storage=f"sqlite:///{isolated_home / 'studies.db'}")

    with scratch_schema("t_study", pg_url) as url:
        storage = url.replace("postgresql://", "postgresql+psycopg://", 1)
        env = {**os.environ, "ALPHINTRA_HOME": str(isolated_home), "PYTHONPATH": os.pathsep.join(sys.path)}
        argv = [sys.executable, "-m", "alphintra", "optimize", *SLICE, *GRID, "--study", "shared", "--storage", storage]
        procs = [
            subprocess.Popen([*argv, "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        try:
            outs = [p.communicate(timeout=120) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(timeout=30)
        assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
        study = optuna.load_study(study_name="shared", storage=storage)
        trials = study.trials
        # 50 in all, not 50 each: every trial finished, none failed or interrupted, refused points included.
        assert len(trials) == 50
        assert {t.state.name for t in trials} == {"COMPLETE", "PRUNED"}
        assert not any(t.user_attrs.get("interrupted") for t in trials)
        # Both processes did part of the work.
        pids = {p.pid for p in procs}
        assert {t.user_attrs["owner"]["pid"] for t in trials} == pids
        # No parameter set was claimed twice, and the shared study ran exactly the single run's backtests.
        claimed = [tuple(t.user_attrs["params"].values()) for t in trials]
        assert len(claimed) == len(set(claimed))
        ran = _ran(study)
        assert sorted(ran) == sorted(_ran(single))
        assert len(ran) == 50 - sum("refused" in t.user_attrs for t in trials)
        # The same best trial as the single process, figure for figure.
        shown = run_cli("optimize", "show", "shared", "--storage", storage, "--json")
        assert shown.code == 0, shown.err
        best = json.loads(shown.out)["best"][0]
        alone_best = json.loads(alone.out)["runs"][0]
        assert (best["fast"], best["slow"], best["sharpe"]) == (
            alone_best["fast"],
            alone_best["slow"],
            alone_best["sharpe"],
        )
        assert (best["fast"], best["slow"], round(best["sharpe"], 4)) == (5, 20, 0.4664)
        del study, single
