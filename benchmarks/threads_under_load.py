"""Training and evaluation beside other work: torch's default CPU threads against the one-thread policy.

Times, as a user runs them, `forgetnet train --steps 100` (the default model and
config, on the CPU) and `forgetnet eval --task all` (a fresh forgetnet, the
default 5 batches of 32 per task), each

  alone       only this command (and whatever else the machine is running)
  loaded      beside a busy torch job: another process multiplying 2048x2048
              matrices in a loop on torch's default threads

and each with

  default     torch's default thread count (what torch picks in a fresh
              process with no OMP_NUM_THREADS, passed as --threads N: the
              behaviour before the policy)
  policy      no flag: forgetnet_core.device.run_threads, one thread

Every child starts without OMP_NUM_THREADS/MKL_NUM_THREADS. The times include
starting Python and importing torch (about 1.5 s here). It prints each wall
time and the ratios default/policy (how much the policy saves) and
loaded/alone (how much the busy job costs). On a shared machine the numbers
move with whatever else runs: report the load average it prints with them.

    python benchmarks/threads_under_load.py
    python benchmarks/threads_under_load.py --steps 100 --repeats 3 --timeout 600 --json results.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
BUSY_JOB = "import torch\na = torch.randn(2048, 2048)\nwhile True:\n    a @ a\n"


def clean_env() -> dict[str, str]:
    """This environment without the thread variables: children start as torch's defaults would have them."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


def torch_default_threads() -> int:
    code = "import torch; print(torch.get_num_threads())"
    return int(subprocess.run([sys.executable, "-c", code], env=clean_env(), capture_output=True, text=True, check=True).stdout)


def timed(argv: list[str], timeout: float) -> float | None:
    """Wall seconds of `python -m forgetnet_core.cli ARGV`, or None when it ran past `timeout` (then it is killed)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "forgetnet_core.cli", *argv], env=clean_env(), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None
    if proc.returncode != 0:
        raise SystemExit(f"forgetnet {' '.join(argv)} failed ({proc.returncode}): {err.strip()}")
    return time.perf_counter() - started


class BusyJob:
    """A background torch process doing big matmuls on torch's default threads, for the `loaded` measurements."""

    def __enter__(self) -> "BusyJob":
        self.proc = subprocess.Popen([sys.executable, "-c", BUSY_JOB], env=clean_env(),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(4.0)  # past the torch import: busy from the first measured second
        if self.proc.poll() is not None:
            raise SystemExit("the busy job exited at once")
        return self

    def __exit__(self, *exc) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def fmt(seconds: float | None, timeout: float) -> str:
    return f">{timeout:.0f} s" if seconds is None else f"{seconds:.1f} s"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "n/a (timed out)"
    return f"{a / b:.1f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    parser.add_argument("--repeats", type=int, default=1, help="measurements of each case; the median is reported")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before one command is called timed out")
    parser.add_argument("--json", metavar="PATH", help="also write the times there")
    args = parser.parse_args()

    default = torch_default_threads()
    cores = os.cpu_count()
    print(f"{cores} CPUs; torch's default here: {default} threads; policy: 1 thread; "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="threads-bench-") as tmp:
        commands = {
            "train": ["train", "--steps", str(args.steps), "--device", "cpu", "--output-dir", f"{tmp}/runs", "--quiet"],
            "eval": ["eval", "--task", "all", "--device", "cpu", "--output-dir", f"{tmp}/evals"],
        }
        threads = {"default": ["--threads", str(default)], "policy": []}
        times: dict[str, dict[str, float | None]] = {}

        def measure(load: str) -> None:
            for name, argv in commands.items():
                for policy, extra in threads.items():
                    runs = [timed(argv + extra, args.timeout) for _ in range(args.repeats)]
                    done = sorted(r for r in runs if r is not None)
                    value = None if len(done) < len(runs) else done[len(done) // 2]
                    times.setdefault(name, {})[f"{load}/{policy}"] = value
                    print(f"  {name:<5} {load:<6} {policy:<7} {fmt(value, args.timeout):>9}  "
                          f"({', '.join(fmt(r, args.timeout) for r in runs)})", flush=True)

        print("alone:", flush=True)
        measure("alone")
        print("beside a busy torch job (2048x2048 matmuls, torch's default threads):", flush=True)
        with BusyJob():
            measure("loaded")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\nratios (larger = the first is slower):")
    for name, t in times.items():
        print(f"  {name:<5} default/policy alone {ratio(t['alone/default'], t['alone/policy']):>8}   "
              f"loaded {ratio(t['loaded/default'], t['loaded/policy']):>8}   "
              f"loaded/alone: default {ratio(t['loaded/default'], t['alone/default']):>8}, "
              f"policy {ratio(t['loaded/policy'], t['alone/policy']):>8}")
    if args.json:
        Path(args.json).write_text(json.dumps({"cpus": cores, "torch_default_threads": default, "steps": args.steps,
                                               "repeats": args.repeats, "seconds": times}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
