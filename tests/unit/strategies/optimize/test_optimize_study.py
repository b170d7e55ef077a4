"""Optuna studies with small objectives: seeded determinism, refused sets, resuming, interrupted trials, pruning."""

from __future__ import annotations

import os
from pathlib import Path

import optuna
import pytest
from optimize_objectives import H, score_objective, tied_objective_ab, window_objective
from optuna.trial import TrialState

from alphintra.errors import ValidationError
from alphintra.strategies.optimize import parse_space
from alphintra.strategies.study import LOSSES, Loss, StudySpec, open_study, parse_multi, run_study

SCORE = Loss("score", "score", True, "test score")


def _spec(tmp_path: Path, name: str, search: str, trials: int, **kw: object) -> StudySpec:
    return StudySpec(name, f"sqlite:///{tmp_path / 'studies.db'}", search, (SCORE,), trials, **kw)  # type: ignore[arg-type]


def _fast_below_slow(params: dict[str, object]) -> str | None:
    return None if params["fast"] < params["slow"] else "fast must be below slow"  # type: ignore[operator]


def _params(tmp_path: Path, name: str) -> list[dict[str, object]]:
    study = open_study(f"sqlite:///{tmp_path / 'studies.db'}", name)
    return [t.user_attrs["params"] for t in study.get_trials()]


def test_a_seeded_tpe_study_draws_the_same_trials_every_time(tmp_path: Path) -> None:
    space = parse_space(["fast=1:20", "slow=2:30"])
    for name in ("a", "b"):
        run_study(tied_objective_ab, space, _spec(tmp_path, name, "tpe", 10, seed=7), check=_fast_below_slow)
    assert _params(tmp_path, "a") == _params(tmp_path, "b")
    assert len(_params(tmp_path, "a")) >= 10


def test_refused_sets_are_pruned_before_any_run_and_counted(tmp_path: Path) -> None:
    # tied_objective_ab raises for fast >= slow: every such set must have been refused before it ran.
    space = parse_space(["fast=10:12", "slow=11:12"])
    out = run_study(tied_objective_ab, space, _spec(tmp_path, "g", "grid", 100), check=_fast_below_slow)
    assert (out.evaluations, out.refused, out.failed) == (3, 3, 0)
    assert out.refused_example == "fast=11 slow=11: fast must be below slow"
    study = open_study(f"sqlite:///{tmp_path / 'studies.db'}", "g")
    # The grid is walked in order, the last parameter fastest, like the plain grid search.
    assert [(t.user_attrs["params"]["fast"], t.user_attrs["params"]["slow"], t.state) for t in study.trials] == [
        (10, 11, TrialState.COMPLETE),
        (10, 12, TrialState.COMPLETE),
        (11, 11, TrialState.PRUNED),
        (11, 12, TrialState.COMPLETE),
        (12, 11, TrialState.PRUNED),
        (12, 12, TrialState.PRUNED),
    ]
    assert study.trials[2].user_attrs["refused"] == "fast=11 slow=11: fast must be below slow"


def test_every_refused_set_is_a_validation_error(tmp_path: Path) -> None:
    space = parse_space(["fast=20", "slow=10:12"])
    with pytest.raises(
        ValidationError, match=r"every combination is invalid, e\.g\. fast=20 slow=10: fast must be below"
    ):
        run_study(tied_objective_ab, space, _spec(tmp_path, "bad", "tpe", 3), check=_fast_below_slow)
    assert optuna.get_all_study_names(f"sqlite:///{tmp_path / 'studies.db'}") == []  # no study left behind


def test_a_study_resumes_with_its_finished_trials_kept_and_an_interrupted_one_drawn_again(tmp_path: Path) -> None:
    space = parse_space(["fast=1:4", "slow=5:8"])
    first = run_study(tied_objective_ab, space, _spec(tmp_path, "r", "grid", 5))
    assert (first.finished, first.evaluations, first.resumed) == (5, 5, 0)
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    # A process that died mid-trial leaves it RUNNING: the next run marks it failed and does not count it.
    dead = open_study(url, "r").ask()
    dead.set_user_attr("params", {"fast": 2, "slow": 6})
    before = {t.number: (t.values, t.datetime_complete) for t in open_study(url, "r").trials if t.values}
    second = run_study(tied_objective_ab, space, _spec(tmp_path, "r", "grid", 16))
    assert (second.resumed, second.evaluations, second.finished) == (5, 11, 16)
    study = open_study(url, "r")
    assert {t.number: (t.values, t.datetime_complete) for t in study.trials[:5]} == before
    assert study.trials[5].state == TrialState.FAIL and study.trials[5].user_attrs["interrupted"] is True
    ran = [tuple(t.user_attrs["params"].values()) for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(ran) == len(set(ran)) == 16  # the whole grid, no set run twice


def test_a_study_refuses_to_resume_with_other_options(tmp_path: Path) -> None:
    space = parse_space(["fast=1:4", "slow=5:8"])
    run_study(tied_objective_ab, space, _spec(tmp_path, "s", "tpe", 2))
    with pytest.raises(ValidationError) as caught:
        run_study(tied_objective_ab, space, _spec(tmp_path, "s", "random", 2))
    assert caught.value.field == "--study"
    assert "'s' was started with a different search (tpe)" in caught.value.message


def test_slices_let_the_median_pruner_stop_hopeless_trials(tmp_path: Path) -> None:
    # window_objective's equity grows by a * trend per hour; a trend that changes sign by slice makes some
    # values of a hopeless early on.
    space = parse_space(["a=-10:10"])
    spec = StudySpec("p", f"sqlite:///{tmp_path / 'studies.db'}", "random", (LOSSES["profit"],), 20, seed=3, slices=4)
    out = run_study(window_objective, space, spec, args=(1_000_000,), bounds=(0, 400 * H))
    study = open_study(spec.storage, "p")
    pruned = [t for t in study.trials if "pruned_after_slice" in t.user_attrs]
    assert out.pruned == len(pruned) > 0
    assert all(1 <= t.user_attrs["pruned_after_slice"] < 4 for t in pruned)
    assert out.evaluations + out.pruned + out.repeats + out.failed == 20


def test_multi_parses_two_distinct_losses_and_names_the_option() -> None:
    assert [loss.metric for loss in parse_multi("sharpe,drawdown")] == ["sharpe", "max_drawdown"]
    for text, rule in (
        ("sharpe", "must name two or more losses"),
        ("sharpe,sharpe", "must not name a loss twice"),
        ("sharpe,nope", "must be one of: sharpe, sortino"),
    ):
        with pytest.raises(ValidationError) as caught:
            parse_multi(text)
        assert caught.value.field == "--multi" and rule in caught.value.message


def test_parallel_trials_run_in_worker_processes_and_repeat_with_the_same_seed_and_workers(tmp_path: Path) -> None:
    space = parse_space(["fast=1:12", "x=0.5:2.5:0.5"])
    for name in ("p1", "p2"):
        out = run_study(score_objective, space, _spec(tmp_path, name, "tpe", 2, seed=5, workers=2), args=(100,))
        assert out.evaluations + out.failed == 2
    assert _params(tmp_path, "p1") == _params(tmp_path, "p2")
    study = open_study(f"sqlite:///{tmp_path / 'studies.db'}", "p1")
    pids = {t.user_attrs["metrics"]["pid"] for t in study.trials if "metrics" in t.user_attrs}
    assert pids and os.getpid() not in pids


def test_cmaes_draws_only_values_of_the_space(tmp_path: Path) -> None:
    space = parse_space(["fast=1:12", "x=0.5:2.5:0.5"])
    out = run_study(score_objective, space, _spec(tmp_path, "c", "cmaes", 8, seed=1), args=(0,))
    assert out.finished == 8
    drawn = _params(tmp_path, "c")
    assert all(p["fast"] in range(1, 13) and p["x"] in (0.5, 1.0, 1.5, 2.0, 2.5) for p in drawn)


def test_a_grid_point_enqueued_by_a_process_that_died_is_walked_once(tmp_path: Path) -> None:
    space = parse_space(["fast=1:3", "slow=5:6"])
    run_study(tied_objective_ab, space, _spec(tmp_path, "w", "grid", 2))
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    open_study(url, "w").enqueue_trial({"fast": 2, "slow": 5})  # killed between enqueuing and asking
    out = run_study(tied_objective_ab, space, _spec(tmp_path, "w", "grid", 6))
    assert (out.resumed, out.evaluations, out.repeats) == (2, 4, 0)
    trials = open_study(url, "w").trials
    assert trials[2].state == TrialState.FAIL and trials[2].user_attrs["interrupted"] is True
    walked = [tuple(t.user_attrs["params"].values()) for t in trials if t.state == TrialState.COMPLETE]
    assert walked == [(1, 5), (1, 6), (2, 5), (2, 6), (3, 5), (3, 6)]


def test_a_running_trial_of_a_live_worker_counts_toward_the_budget_and_one_of_a_dead_worker_is_drawn_again(
    tmp_path: Path,
) -> None:
    import socket
    import subprocess
    import sys

    space = parse_space(["fast=1:4", "slow=5:8"])
    run_study(tied_objective_ab, space, _spec(tmp_path, "o", "grid", 2))
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    dead_pid = subprocess.Popen([sys.executable, "-c", "pass"])  # a process that has ended
    dead_pid.wait()
    host = socket.gethostname()
    owners = {
        "live here": {"host": host, "pid": os.getppid(), "run": "x"},
        "elsewhere": {"host": f"{host}-other", "pid": 1, "run": "y"},
        "dead here": {"host": host, "pid": dead_pid.pid, "run": "z"},
    }
    study = open_study(url, "o")
    points = ({"fast": 1, "slow": 7}, {"fast": 1, "slow": 8}, {"fast": 2, "slow": 5})
    for params, owner in zip(points, owners.values(), strict=True):
        study.enqueue_trial(params)
        trial = study.ask()
        trial.set_user_attr("params", params)
        trial.set_user_attr("owner", owner)
    out = run_study(tied_objective_ab, space, _spec(tmp_path, "o", "grid", 6))
    # 2 finished + 2 running elsewhere: 2 more to reach 6, the dead worker's point (2, 5) among them.
    assert (out.resumed, out.evaluations) == (4, 2)
    trials = open_study(url, "o").trials
    assert [t.state for t in trials[2:5]] == [TrialState.RUNNING, TrialState.RUNNING, TrialState.FAIL]
    assert trials[4].user_attrs["interrupted"] is True
    walked = [tuple(t.user_attrs["params"].values()) for t in trials[5:]]
    assert walked == [(2, 5), (2, 6)]
