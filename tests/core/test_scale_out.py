"""Scale-out: device placement (round-robin, K per device), the manifest's record of where cells ran, and the Ray backend."""

from __future__ import annotations

import json
import sys
import threading
import time

import pytest

from forgetnet_core import cli, runs
from forgetnet_core.config import TrainConfig
from forgetnet_core.placement import Placer, parse_devices
from forgetnet_core.results import cached_result
from forgetnet_core.sweep import cell_settings, create_sweep, read_manifest, run_sweep

TINY = TrainConfig(steps=2, seq_len=16, batch_size=2, d_model=16, memory_slots=4, eval_batches=1, eval_every=0,
                   checkpoint_every=0, device="cpu")
EVAL = {"tasks": ["changing_facts"], "suite": "v2", "examples": 4, "seq_len": 16, "seed": 123}


# --------------------------------------------------------------------------- placement


def test_placer_round_robin_k_per_device():
    placer = Placer(["cuda:0", "cuda:1", "cuda:2"], per_device=2)
    assert placer.capacity == 6
    got = [placer.acquire() for _ in range(6)]
    assert got == ["cuda:0", "cuda:1", "cuda:2"] * 2
    assert not placer.has_room() and placer.acquire() is None
    placer.release("cuda:1")
    assert placer.has_room() and placer.acquire() == "cuda:1"
    placer.release("cuda:2")
    placer.release("cuda:0")
    assert placer.acquire() == "cuda:0"  # the least loaded, first in the list on a tie


@pytest.mark.parametrize("text,expected", [("cpu", ["cpu"]), ("cuda:0, cuda:1", ["cuda:0", "cuda:1"]), ("CUDA", ["cuda"])])
def test_parse_devices(text, expected):
    assert parse_devices(text) == expected


@pytest.mark.parametrize("text,words", [("tpu", "unknown device 'tpu'"), ("cuda:0,cuda:0", "listed twice"),
                                         ("cpu:1", "unknown device"), ("", "at least one device")])
def test_parse_devices_refuses(text, words):
    with pytest.raises(ValueError, match=words):
        parse_devices(text)


class _Slow:
    """A stand-in cell process that runs for a few polls; records the device it was given and who ran beside it."""

    started: list = []
    running: list = []

    def __init__(self, args, **kwargs):
        self.args, self.pid, self.returncode, self.polls = args, 4242, None, 0
        self.device = args[args.index("--device") + 1] if "--device" in args else None
        _Slow.running.append(self)
        _Slow.started.append((self.device, sorted(p.device for p in _Slow.running)))

    def poll(self):
        self.polls += 1
        if self.polls >= 3:
            if self in _Slow.running:
                _Slow.running.remove(self)
            self.returncode = 0
        return self.returncode

    def wait(self, timeout=None):
        return 0

    def send_signal(self, sig):
        pass


def test_cells_are_placed_round_robin_with_k_per_device(tmp_path, monkeypatch):
    import forgetnet_core.launch as launch
    import forgetnet_core.sweep as sweep

    monkeypatch.setattr(launch.subprocess, "Popen", _Slow)
    monkeypatch.setattr(sweep.time, "sleep", lambda s: None)
    _Slow.started, _Slow.running = [], []
    folder = create_sweep(tmp_path, TINY, ["forgetnet"], ["changing_facts"], [1, 2, 3, 4, 5, 6, 7], name="g")
    lines = []
    run_sweep(folder, devices=["cuda:0", "cuda:1"], per_device=2, report=lines.append)
    devices = [d for d, _ in _Slow.started]
    assert devices[:4] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"] and len(devices) == 7
    for _, beside in _Slow.started:  # never more than 2 cells on one device
        assert beside.count("cuda:0") <= 2 and beside.count("cuda:1") <= 2
    assert any(line.endswith(" on cuda:1") for line in lines)


def test_a_cell_trains_and_records_on_its_placed_device(tmp_path):
    folder = create_sweep(tmp_path, TINY.replace(device="auto"), ["delta_net"], ["changing_facts"], [1], name="p",
                          eval_settings=EVAL)
    run_sweep(folder, devices=["cpu"], per_device=1)
    run_dir = folder / "delta_net-changing_facts-s1"
    status = runs.read_status(run_dir)
    assert status["device"] == "cpu" and status["host"] == runs.HOST
    assert json.loads((run_dir / runs.CONFIG_FILE).read_text())["device"] == "cpu"
    placement = read_manifest(folder)["placements"][run_dir.name]
    assert placement == {"backend": "local", "host": runs.HOST, "device": "cpu"}


def test_cli_refuses_bad_devices_and_ray_only_flags(capsys, tmp_path):
    code = cli.main(["sweep", "--models", "delta_net", "--tasks", "changing_facts", "--devices", "tpu:0",
                     "--output-dir", str(tmp_path)])
    assert code == 2 and "unknown device 'tpu:0'" in capsys.readouterr().err
    code = cli.main(["sweep", "--models", "delta_net", "--tasks", "changing_facts", "--gpus-per-cell", "0.25",
                     "--output-dir", str(tmp_path)])
    assert code == 2 and "are for --backend ray" in capsys.readouterr().err


def test_a_stop_request_reaches_a_run_through_its_folder(tmp_path):
    """What a sweep on another machine uses: the trainer checks RUN_DIR/stop-requested every step."""
    from forgetnet_core.train import train

    run_dir = tmp_path / "r"
    run_dir.mkdir()

    def ask(record):
        if record.get("kind") == "train" and record["step"] == 3:
            (run_dir / runs.STOP_FILE).write_text("now")

    train(TINY.replace(steps=50, model="delta_net"), run_dir=run_dir, on_event=ask)
    status = runs.read_status(run_dir)
    assert status["state"] == "stopped" and status["step"] == 3 and status["stopped_by"] == "stop request"
    assert not (run_dir / runs.STOP_FILE).exists()  # consumed: a resume is not stopped by it again


def test_a_running_run_on_another_host_is_judged_by_its_heartbeat(tmp_path):
    status = {"state": "running", "pid": 1, "host": "elsewhere", "updated": time.time()}
    assert runs.effective_state(status) == "running"  # its pid means nothing here
    assert runs.effective_state({**status, "updated": time.time() - 2 * runs.REMOTE_STALE_AFTER}) == "stale"


# --------------------------------------------------------------------------- Ray


def test_backend_ray_without_ray_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    code = cli.main(["sweep", "--models", "delta_net", "--tasks", "changing_facts", "--seeds", "1", "--steps", "1",
                     "--backend", "ray", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "pip install -e .[ray]" in err


@pytest.fixture(scope="session")
def ray_local():
    from forgetnet_core.sweep_ray import RayMissing, import_ray

    try:
        ray = import_ray(local=True)
    except RayMissing:
        pytest.skip("Ray is an optional extra (pip install -e .[ray]); CI installs it")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=80 * 1024 * 1024)
    yield ray
    ray.shutdown()


def _accuracies(folder):
    manifest = read_manifest(folder)
    out = {}
    for cell in manifest["cells"]:
        result = cached_result(folder / cell["run"], cell_settings(manifest, cell))
        out[cell["run"]] = None if result is None else result.tasks["changing_facts"]["accuracy"]
    return out


def test_a_tiny_grid_through_ray_gives_the_local_results(tmp_path, ray_local):
    from forgetnet_core.sweep_ray import run_sweep_ray

    grid = dict(models=["delta_net", "forgetnet"], tasks=["changing_facts"], seeds=[1, 2])
    local = create_sweep(tmp_path / "local", TINY, grid["models"], grid["tasks"], grid["seeds"], "g", EVAL)
    ray_folder = create_sweep(tmp_path / "ray", TINY, grid["models"], grid["tasks"], grid["seeds"], "g", EVAL)
    assert run_sweep(local, jobs=2) == {"total": 4, "evaluated": 4}
    lines = []
    assert run_sweep_ray(ray_folder, jobs=2, report=lines.append) == {"total": 4, "evaluated": 4}
    assert _accuracies(ray_folder) == _accuracies(local) and None not in _accuracies(local).values()
    manifest = read_manifest(ray_folder)
    assert manifest["backend"] == "ray"
    assert {p["device"] for p in manifest["placements"].values()} == {"cpu"}
    assert all(p["host"] for p in manifest["placements"].values())
    again = []
    run_sweep_ray(ray_folder, jobs=2, report=again.append)  # everything evaluated: nothing runs again
    assert not [line for line in again if line.split()[0] in ("start", "resume")]


def test_a_ray_sweep_stopped_midway_resumes_without_repeating_or_losing(tmp_path, ray_local):
    from forgetnet_core.sweep_ray import run_sweep_ray

    folder = create_sweep(tmp_path, TINY.replace(steps=400, model="delta_net"), ["delta_net"], ["changing_facts"],
                          [1, 2, 3], "g", EVAL)
    stop = threading.Event()
    done: dict = {}
    worker = threading.Thread(target=lambda: done.update(counts=run_sweep_ray(folder, jobs=2, stop=stop)))
    worker.start()
    deadline = time.time() + 120
    while time.time() < deadline and not any(
            (runs.read_status(folder / c["run"]) or {}).get("step", 0) >= 5 for c in read_manifest(folder)["cells"]):
        time.sleep(0.2)  # polls files the cells write
    stop.set()
    worker.join(timeout=120)
    assert not worker.is_alive()
    states = {c["run"]: runs.effective_state(runs.read_status(folder / c["run"])) for c in read_manifest(folder)["cells"]}
    stopped = [run for run, state in states.items() if state == "stopped"]
    assert stopped and "running" not in states.values(), states
    at = {run: runs.read_status(folder / run)["step"] for run in stopped}
    lines = []
    assert run_sweep_ray(folder, jobs=2, report=lines.append) == {"total": 3, "evaluated": 3}
    for run in stopped:
        assert f"resume {run} (ray)" in lines
        steps = [r["step"] for r in runs.read_metrics(folder / run)[0] if r["kind"] == "train"]
        assert steps == list(range(1, 401)) and at[run] < 400  # nothing repeated, nothing lost


def test_a_failed_ray_cell_is_reported_and_the_others_finish(tmp_path, ray_local):
    from forgetnet_core.sweep_ray import run_sweep_ray

    folder = create_sweep(tmp_path, TINY, ["delta_net"], ["changing_facts"], [1, 2], "g", EVAL)
    broken = folder / "delta_net-changing_facts-s1"
    config = json.loads((broken / runs.CONFIG_FILE).read_text())
    (broken / runs.CONFIG_FILE).write_text(json.dumps({**config, "batch_size": 0}))  # cannot train
    lines = []
    counts = run_sweep_ray(folder, jobs=2, report=lines.append)
    assert counts["evaluated"] == 1 and counts["total"] == 2
    assert any("cannot train" in line and broken.name in line for line in lines), lines


def test_the_local_ray_instance_listens_on_loopback_only(ray_local):
    import shutil
    import subprocess

    if shutil.which("ss") is None:
        pytest.skip("no `ss` here to list listening sockets")
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    ray_lines = [line for line in out.splitlines() if any(name in line for name in ("gcs_server", "raylet", "ray::"))]
    assert ray_lines, out
    for line in ray_lines:
        local = line.split()[3]
        assert local.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:", "[::1]:")), line


def test_the_listing_says_where_each_run_trains(tmp_path):
    from forgetnet_core.listing import list_runs

    here, there = tmp_path / "a", tmp_path / "b"
    for run_dir, host, device in ((here, runs.HOST, "cuda:1"), (there, "gpu-box-2", "cuda:0")):
        run_dir.mkdir()
        runs.write_json_atomic(run_dir / runs.CONFIG_FILE, TINY.to_dict())
        runs.write_status(run_dir, state="finished", step=2, total_steps=2, host=host, device=device, started=time.time())
    where = {info.name: info.where for info in list_runs(tmp_path, metrics=False)}
    assert where == {"a": "cuda:1", "b": "gpu-box-2/cuda:0"}  # the host only when it is another machine
