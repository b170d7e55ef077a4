"""`optimize --search` studies through the real entry point, on the shipped GOOG daily sample."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A small GOOG daily slice (377 bars) and a space of 72 sets, 9 of which sma_cross refuses (fast >= slow).
SLICE = ("sma_cross", "-s", "GOOG", "--start", "2011-01-01", "--end", "2012-07-01", "--workers", "1")
SPACE = ("-p", "fast=5:40:5", "-p", "slow=20:100:10")


def test_seeded_tpe_reaches_the_grid_best_sharpe_in_at_most_half_the_evaluations(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    # The plain grid search (every set, one backtest each) is the yardstick; --search grid walks the same grid.
    grid = run_cli("optimize", *SLICE, *SPACE, "--top", "100", "--json")
    assert grid.code == 0, grid.err
    g = json.loads(grid.out)
    evaluations = len(g["runs"])
    assert (g["combinations"], g["skipped"], evaluations) == (72, 9, 63)
    best = g["runs"][0]
    assert (best["fast"], best["slow"], round(best["sharpe"], 4)) == (5, 20, 0.4664)

    budget = evaluations // 2
    tpe = run_cli("optimize", *SLICE, *SPACE, "--search", "tpe", "--trials", str(budget), "--seed", "42", "--json")
    assert tpe.code == 0, tpe.err
    t = json.loads(tpe.out)
    assert t["evaluations"] * 2 <= evaluations
    assert t["runs"][0]["sharpe"] == best["sharpe"]  # the same backtest, so exactly the same figure
    assert (t["runs"][0]["fast"], t["runs"][0]["slow"]) == (5, 20)


def test_multi_objective_study_prints_its_pareto_front_and_show_and_list_find_it(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    args = ("optimize", *SLICE, "-p", "fast=5:40:5", "-p", "slow=20:100:20", "--search", "tpe", "--trials", "12")
    ran = run_cli(*args, "--multi", "sharpe,drawdown", "--study", "m1")
    assert ran.code == 0, ran.err
    front = [
        "Pareto front: 2 of 12 trials (higher is better: sharpe, drawdown)",
        "  #0  fast=15 slow=100  sharpe=-0.3109 drawdown=-0.2786",
        "  #9  fast=20 slow=40  sharpe=-0.0615 drawdown=-0.3099",
    ]
    assert ran.out.splitlines()[-3:] == front
    assert "study m1 (tpe, sharpe,drawdown): 12 trials, 10 evaluations, 0 pruned, 2 repeats, 0 failed" in ran.out
    shown = run_cli("optimize", "show", "m1")
    assert shown.code == 0, shown.err
    assert shown.out.splitlines()[0] == (
        "study m1: sma_cross on GOOG, tpe by sharpe,drawdown; 12 trials, 12 complete, 0 pruned"
    )
    assert shown.out.splitlines()[-3:] == front
    assert "parameter importance for sharpe: " in shown.out
    as_json = json.loads(run_cli("optimize", "show", "m1", "--json").out)
    assert [row["trial"] for row in as_json["pareto"]] == [0, 9]
    listed = json.loads(run_cli("optimize", "list", "--json").out)
    assert [(s["study"], s["search"], s["losses"], s["trials"]) for s in listed] == [
        ("m1", "tpe", ["sharpe", "drawdown"], 12)
    ]


def test_walk_forward_runs_a_study_per_window(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    wf = run_cli(
        "optimize", "sma_cross", "-s", "GOOG", "--start", "2010-01-01", "--end", "2012-01-01", "--workers", "1",
        "-p", "fast=5:40:5", "-p", "slow=20:100:20", "--search", "random", "--trials", "4",
        "--walk-forward", "365d:180d", "--study", "wf", "--json",
    )  # fmt: skip
    assert wf.code == 0, wf.err
    data = json.loads(wf.out)
    assert [w["window"] for w in data["windows"]] == [0, 1]
    assert data["trials"] == 8 and data["out_of_sample"]["bars"] > 0
    listed = [s["study"] for s in json.loads(run_cli("optimize", "list", "--json").out)]
    assert listed == ["wf.w0", "wf.w1"]


@pytest.mark.parametrize(
    ("extra", "option", "rule"),
    [
        (("--search", "bayes"), "--search", "must be one of: grid, random, tpe, cmaes"),
        (("--search", "tpe", "--loss", "money"), "--loss", "must be one of: sharpe, sortino, calmar, profit"),
        (("--search", "tpe", "--multi", "sharpe"), "--multi", "must name two or more losses"),
        (("--search", "cmaes", "--multi", "sharpe,drawdown"), "--multi", "cmaes optimises one loss"),
        (("--search", "tpe", "--trials", "0"), "--trials", "must be an integer >= 1"),
        (("--trials", "10"), "--trials", "belongs to a study: add --search grid, random, tpe or cmaes"),
        (("--search", "tpe", "--random", "5"), "--random", "with a study use --search random --trials N"),
        (("--search", "tpe", "--metric", "calmar"), "--metric", "ranks the plain sweep: a study optimises --loss"),
    ],
)
def test_bad_study_options_exit_2_naming_the_option(run_cli, extra, option, rule) -> None:  # type: ignore[no-untyped-def]
    bad = run_cli("optimize", "sma_cross", "-s", "GOOG", "-p", "fast=5", *extra)
    assert bad.code == 2
    assert f"{option}: {rule}" in bad.err
    assert "Traceback" not in bad.err


def _complete_trials(db: Path, study: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute(
                "select count(*) from trials join studies using (study_id) "
                "where studies.study_name = ? and trials.state = 'COMPLETE'",
                (study,),
            ).fetchone()
    except sqlite3.OperationalError:  # the schema is still being created
        return 0
    return int(row[0])


def test_a_study_killed_mid_way_resumes_and_finishes_without_running_a_trial_twice(
    run_cli, isolated_home: Path
) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    args = [*SLICE, *SPACE, "--search", "tpe", "--trials", "16", "--study", "killed"]
    env = {**os.environ, "ALPHINTRA_HOME": str(isolated_home), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "alphintra", "optimize", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = isolated_home / "studies.db"
    try:
        deadline = time.monotonic() + 120
        while _complete_trials(db, "killed") < 5:
            assert proc.poll() is None, "the study ended before it could be killed"
            assert time.monotonic() < deadline, "the study never reached 5 trials"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    import optuna

    url = f"sqlite:///{db}"
    before = {
        t.number: (t.params, t.values, t.datetime_complete)
        for t in optuna.load_study(study_name="killed", storage=url).trials
        if t.state.name in ("COMPLETE", "PRUNED")
    }
    assert len(before) >= 5
    resumed = run_cli("optimize", *args, "--json")
    assert resumed.code == 0, resumed.err
    out = json.loads(resumed.out)
    assert out["resumed"] == sum(1 for n in before if "refused" not in _attrs(url, n))
    assert out["trials"] == 16
    study = optuna.load_study(study_name="killed", storage=url)
    after = {t.number: (t.params, t.values, t.datetime_complete) for t in study.trials}
    assert {n: after[n] for n in before} == before  # finished trials were kept, not run again
    ran = [
        tuple(t.user_attrs["params"].values())
        for t in study.trials
        if t.state.name == "COMPLETE" and "repeat_of" not in t.user_attrs
    ]
    assert len(ran) == len(set(ran))  # no parameter set was backtested twice
    counted = [t for t in study.trials if "refused" not in t.user_attrs and not t.user_attrs.get("interrupted")]
    assert len(counted) == 16


def _attrs(url: str, number: int) -> dict[str, object]:
    import optuna

    return optuna.load_study(study_name="killed", storage=url).trials[number].user_attrs


def test_a_bad_storage_url_is_refused_by_name_and_a_password_never_shown(run_cli) -> None:  # type: ignore[no-untyped-def]
    bad = run_cli("optimize", "list", "--storage", "nope://x")
    assert bad.code == 2 and "--storage: must be a database URL" in bad.err
    down = run_cli("optimize", "list", "--storage", "postgresql://u:hunter2@127.0.0.1:1/x")
    assert down.code == 1 and "cannot open the study storage postgresql://u:***@127.0.0.1:1/x" in down.err
    assert "hunter2" not in down.err + down.out
    missing = run_cli("optimize", "show", "nope")
    assert missing.code == 1 and "no study named 'nope'" in missing.err
