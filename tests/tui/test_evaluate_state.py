"""The Evaluate screen's state without the screen: rows, results, progress, settings, sorting, words, bundled rows."""

from __future__ import annotations

import os
from pathlib import Path

from forgetnet_core.checkpoints import bundled_checkpoints
from forgetnet_core.config import EvalSettings
from forgetnet_core.matrix import RowSpec
from forgetnet_core.results import RowResult
from forgetnet_tui.evaluate_state import EvaluateState, RowStatus, bundled_specs

SETTINGS = EvalSettings(examples=8, seq_len=16, tasks=("changing_facts", "multi_hop"))
OTHER = EvalSettings(examples=16, seq_len=16, tasks=("changing_facts", "multi_hop"))


def run_spec(seed: int, model: str = "forgetnet", root: Path = Path("/runs")) -> RowSpec:
    config = {"model": model, "task": "changing_facts", "seed": seed, "lr": 0.001}
    return RowSpec.for_run(root / f"{model}-s{seed}", config)


def result(accuracy: float, when: float = 1.0, error: str | None = None) -> RowResult:
    if error:
        return RowResult(error=error, evaluated_at=when)
    tasks = {t: {"accuracy": accuracy, "ci_low": accuracy - 0.1, "ci_high": accuracy + 0.1, "examples": 8} for t in SETTINGS.tasks}
    return RowResult(tasks=tasks, settings=SETTINGS.to_dict(), evaluated_at=when)


def loaded(*specs: RowSpec, results: dict[str, RowResult] | None = None) -> EvaluateState:
    state = EvaluateState(SETTINGS)
    assert state.rows_loaded(list(specs), results or {}, SETTINGS.cache_key())
    state.rebuild()
    return state


def test_seeds_group_into_one_row_whose_result_waits_for_every_seed():
    a, b, other = run_spec(1), run_spec(2), run_spec(1, "no_forget")
    state = loaded(a, b, other, results={a.key: result(0.4)})
    group = next(row for row in state.rows if row.kind == "group")
    assert group.members == [a.key, b.key] and group.result is None  # half evaluated: no mean yet
    assert state.status(group) == RowStatus("", None, detail="1/2 runs")
    single = next(row for row in state.rows if row.kind == "single")
    assert state.status(single) == RowStatus("", None) and [s.key for s in state.missing()] == [a.key for a in (b, other)]
    state.results[b.key] = result(0.6)
    group = next(row for row in state.rebuild() if row.kind == "group")
    assert group.result is not None and group.result.tasks["changing_facts"]["accuracy"] == 0.5
    assert state.status(group).detail == "2 seeds"


def test_an_evaluation_queues_runs_progresses_and_cancels_what_it_did_not_reach():
    a, b = run_spec(1), run_spec(2)
    state = loaded(a, b)
    todo = state.start([a, b], use_cache=True)
    assert todo == [a, b] and state.evaluating and state.row_state == {a.key: "queued", b.key: "queued"}
    assert state.start([a], use_cache=True) == []  # one evaluation at a time
    assert not state.row_progressed(a.key, 1, 4)  # not running yet: a late message is ignored
    state.row_started(a.key)
    assert state.row_progressed(a.key, 2, 4)
    group = next(row for row in state.rebuild() if row.kind == "group")
    assert [r.key for r in state.rows_with(a.key)] == [group.key]
    assert state.status(group) == RowStatus("running", None, (50, 200))  # half of one run of two
    state.row_evaluated(a.key, result(0.4), SETTINGS.cache_key())
    state.row_started(b.key)
    state.evaluation_ended()  # cancelled while b ran
    assert not state.evaluating and state.row_state == {b.key: "cancelled"} and not state.progress
    assert a.key in state.results and b.key not in state.results
    group = next(row for row in state.rebuild() if row.kind == "group")
    assert state.status(group).state == "cancelled"


def test_reevaluating_drops_the_result_and_fresh_rows_come_back_from_this_session():
    state = loaded(run_spec(1))
    fresh = state.add_fresh("gated_delta_net")
    again = state.add_fresh("gated_delta_net")
    assert (fresh.seed, again.seed) == (0, 1) and fresh.key != again.key
    state.start([fresh], use_cache=True)
    state.row_evaluated(fresh.key, result(0.1), SETTINGS.cache_key())
    state.evaluation_ended()
    assert state.set_settings(OTHER) and not state.results  # other settings: nothing known
    assert not state.set_settings(OTHER)  # the same settings again: nothing changes
    state.set_settings(SETTINGS)
    assert fresh.key in state.results  # remembered for these settings
    assert state.start([fresh], use_cache=True) == [] and not state.evaluating  # taken from memory
    run = state.specs[0]
    state.results[run.key] = result(0.3)
    assert state.start([run], use_cache=False) == [run] and run.key not in state.results


def test_caches_apply_only_to_their_settings_and_not_while_evaluating():
    a = run_spec(1)
    state = loaded(a)
    assert not state.caches_read({a.key: result(0.2)}, OTHER.cache_key(), [a.key])
    assert state.caches_read({a.key: result(0.2, when=5.0)}, SETTINGS.cache_key(), [a.key])
    shown = state.results[a.key]
    assert state.caches_read({a.key: result(0.2, when=5.0)}, SETTINGS.cache_key(), [a.key])
    assert state.results[a.key] is shown  # the same result: kept as shown
    assert state.caches_read({}, SETTINGS.cache_key(), [a.key]) and a.key not in state.results  # the checkpoint changed
    state.start([a], use_cache=True)
    assert not state.caches_read({a.key: result(0.2)}, SETTINGS.cache_key(), [a.key])


def test_a_sweep_replaces_the_rows_and_wins_over_a_late_listing():
    state = EvaluateState(OTHER)
    specs = [run_spec(1), run_spec(2)]
    state.sweep_loaded("grid", specs, SETTINGS, {specs[0].key: result(0.5)})
    assert state.settings == SETTINGS and state.sweep == "grid" and state.loaded
    assert not state.rows_loaded([run_spec(9)], {}, SETTINGS.cache_key())  # the runs directory's rows came too late
    assert state.specs == specs
    state.rebuild()
    assert state.title().startswith("sweep grid · 1 row · v2 · 8 ex/task · len 16/48 · seed")


def test_picking_checkpoints_keeps_fresh_and_busy_rows_and_uses_known_specs():
    a, b, c = run_spec(1), run_spec(2), run_spec(3)
    state = loaded(a, b)
    fresh = state.add_fresh("forgetnet")
    state.start([b], use_cache=True)
    bundled = RowSpec.for_run(Path("/results/bundled/x"), {"model": "x"})
    special = RowSpec(bundled.key, "x · bundled", "x", bundled.run_dir, None, bundled.config)
    added = state.apply_checkpoints([c.run_dir, bundled.run_dir], {str(bundled.run_dir): special})
    assert added == [c.key, special.key]
    assert [s.key for s in state.specs] == [b.key, fresh.key, c.key, special.key]  # a went; b is being evaluated
    assert state.specs[-1].label == "x · bundled"


def test_sorting_and_expanding():
    a, b, other = run_spec(1), run_spec(2), run_spec(1, "no_forget")
    state = loaded(a, b, other, results={a.key: result(0.2), b.key: result(0.4), other.key: result(0.9)})
    state.sort_next()
    assert (state.sort_by, state.descending) == ("label", False)
    state.sort_next()
    assert (state.sort_by, state.descending) == ("associative_lookup", True)
    assert state.sort_by_column("changing_facts") and state.sort_by == "changing_facts"
    assert [row.model for row in state.rebuild()] == ["no_forget", "forgetnet"]
    assert state.sort_by_column("changing_facts") and not state.descending
    assert not state.sort_by_column("status")
    group = next(row for row in state.rebuild() if row.kind == "group")
    assert state.toggle_group(group) == group.key
    member = next(row for row in state.rebuild() if row.kind == "member")
    assert state.toggle_group(member) == group.key and not state.expanded  # collapsed from a member
    assert state.toggle_group(next(row for row in state.rows if row.kind == "single")) is None
    assert not state.toggle_grouping() and len(state.rebuild()) == 3


def test_the_detail_line_says_what_a_row_is_and_where_its_result_came_from():
    a, b = run_spec(1), run_spec(2)
    state = loaded(a, b, results={a.key: result(0.4), b.key: result(0.0, error="not a checkpoint (corrupt)")})
    state.toggle_grouping()
    first, second = state.rebuild()
    assert state.describe(first).text.startswith("/runs/forgetnet-s1\nevaluated now, ")
    assert state.describe(second).error == "not a checkpoint (corrupt)"
    state.remove(second)
    assert [s.key for s in state.specs] == [a.key] and b.key not in state.results


def test_repeated_seeds_are_told_once():
    a, again = run_spec(1), run_spec(1, root=Path("/other"))
    state = loaded(a, again)
    assert "2 runs of 1 seeds" in (state.folds_to_tell() or "")
    assert state.folds_to_tell() is None


def test_bundled_rows_are_run_directories_linking_to_the_shipped_checkpoints(tmp_path):
    specs = bundled_specs(tmp_path / "bundled")
    shipped = bundled_checkpoints()
    assert [s.model for s in specs] == [b.model for b in shipped] == ["gated_delta_net", "forgetnet"]
    for spec, bundled in zip(specs, shipped):
        assert spec.checkpoint is not None and spec.checkpoint.resolve() == bundled.path.resolve()
        assert spec.label == f"{bundled.model} · bundled" and spec.config["task"] == "changing_facts"
    assert len({s.group_key() for s in specs}) == 2  # never one seed group
    config = specs[0].run_dir / "config.json"
    stamp = os.stat(config).st_mtime_ns
    assert [s.key for s in bundled_specs(tmp_path / "bundled")] == [s.key for s in specs]
    assert os.stat(config).st_mtime_ns == stamp  # a second call writes nothing
    state = EvaluateState(SETTINGS)
    state.rows_loaded(specs, {}, SETTINGS.cache_key(), bundled=True)
    state.rebuild()
    assert state.title().startswith("bundled checkpoints · 2 rows")
    assert "ships with forgetnet-lab; trained on changing_facts" in state.describe(state.rows[0]).text
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert bundled_specs(blocked) == []  # cannot make the folders: no rows rather than an error


def test_the_state_imports_no_textual():
    import subprocess
    import sys

    code = "import sys, forgetnet_tui.evaluate_state; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'torch')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
