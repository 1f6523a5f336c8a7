"""Time to first paint and key-to-screen latency of forgetnet-lab while a real run trains.

The app runs as its own process in a pseudo-terminal, exactly as a user starts
it. "First paint" is the time from starting the process to the first frame
arriving on the terminal. "Key-to-screen" is the time from writing a key to the
terminal until the bytes that show its effect arrive: a chart-option key is
only counted when the charts redrawn with the new option are on screen (their
titles change in the same update), a screen key when the other screen is.

    python benchmarks/tui_latency.py                  # 40 presses at 120x40, forgetnet training
    python benchmarks/tui_latency.py --size 80x24 --presses 60 --threads 2
    python benchmarks/tui_latency.py --paint-only     # first paint only: no training run

It prints the first-paint times, then p50/p95/max latency per key and overall.
Whatever happens, it stops its training run (SIGTERM, then SIGKILL if it has
not ended after --stop-timeout seconds), closes the app it started and
removes its temporary runs directory.
"""

from __future__ import annotations

import argparse
import codecs
import fcntl
import os
import pty
import random
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from forgetnet_core.config import TrainConfig  # noqa: E402
from forgetnet_core.launch import launch_detached  # noqa: E402
from forgetnet_core.runs import pid_alive, read_status, request_stop  # noqa: E402


class Terminal:
    """forgetnet-lab in a pseudo-terminal: write keys, read what it draws."""

    def __init__(self, args: list[str], cols: int, rows: int):
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # child: become the app
            env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
            os.execvpe(sys.executable, [sys.executable, "-m", "forgetnet_tui.app", *args], env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.decoder = codecs.getincrementaldecoder("utf-8")("ignore")
        self.buffer = ""

    def read(self, timeout: float) -> str:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return ""
        try:
            data = os.read(self.fd, 1 << 16)
        except OSError:
            return ""
        text = self.decoder.decode(data)
        self.buffer += text
        return text

    def drain(self) -> None:
        while self.read(0.0):
            pass
        self.buffer = ""

    def wait_for(self, marker: str, timeout: float) -> float | None:
        """Seconds until `marker` shows up in the output (from the last drain), or None."""
        start = time.perf_counter()
        deadline = start + timeout
        while marker not in self.buffer:
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            self.read(min(left, 0.05))
        return time.perf_counter()

    def press(self, key: str) -> float:
        self.drain()
        t0 = time.perf_counter()
        os.write(self.fd, key.encode())
        return t0

    def close(self) -> None:
        try:
            os.write(self.fd, b"q")
            deadline = time.time() + 5
            while time.time() < deadline:
                self.read(0.1)
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
        except (OSError, ChildProcessError):
            pass
        finally:
            try:
                os.close(self.fd)
            except OSError:
                pass


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def first_paint(runs_dir: Path, cols: int, rows: int, screen: str, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        term = Terminal(["--runs-dir", str(runs_dir), "--screen", screen], cols, rows)
        at = term.wait_for("forgetnet-lab", timeout=30)
        if at is not None:
            times.append(at - term.started)
        term.close()
    return times


def stop_run(run: Path, timeout: float) -> str:
    """Stop the training run and wait for its process to end: SIGTERM (it checkpoints), then SIGKILL."""
    pid = (read_status(run) or {}).get("pid")
    request_stop(run)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not pid_alive(pid):
        return "stopped"
    try:
        os.kill(int(pid), signal.SIGKILL)
    except (OSError, TypeError, ValueError):
        pass
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return "killed" if not pid_alive(pid) else f"still running (pid {pid})"


def key_latency(term: Terminal, presses: int) -> tuple[dict[str, list[float]], list[tuple[float, int, str]], int]:
    """Press s, g, 1, 2 in turn `presses` times; per key the seconds until its effect was on the terminal."""
    smooth = log = False
    results: dict[str, list[float]] = {}
    timed: list[tuple[float, int, str]] = []
    timeouts = 0
    cycle = ["s", "g", "1", "2"]
    for i in range(presses):
        key = cycle[i % len(cycle)]
        if key == "s":
            smooth = not smooth
            marker = "loss · smoothed" if smooth else "loss · raw"
        elif key == "g":
            log = not log
            marker = "· log" if log else "· linear"
        elif key == "1":
            marker = "New run"
        else:
            marker = "steps/s"
        t0 = term.press(key)
        at = term.wait_for(marker, timeout=5)
        if at is None:
            timeouts += 1
        else:
            results.setdefault(key, []).append(at - t0)
            timed.append((at - t0, i, key))
        time.sleep(random.uniform(0.15, 0.35))  # a user's pace between keys, not a wait for the app
    return results, timed, timeouts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--size", default="120x40", help="COLSxROWS of the pseudo-terminal")
    parser.add_argument("--model", default="forgetnet")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of the training run (default: the lab's policy, 1)")
    parser.add_argument("--paint-repeats", type=int, default=3)
    parser.add_argument("--paint-only", action="store_true", help="measure the first paint only (no training run)")
    parser.add_argument("--stop-timeout", type=float, default=60.0, help="seconds the run gets to checkpoint and end")
    args = parser.parse_args()
    cols, rows = (int(v) for v in args.size.lower().split("x"))
    runs_dir = Path(tempfile.mkdtemp(prefix="tui-latency-"))
    run: Path | None = None
    term: Terminal | None = None
    try:
        paint_runs = first_paint(runs_dir, cols, rows, "runs", args.paint_repeats)
        print(f"first paint, Runs screen, empty runs dir ({cols}x{rows}): " + ", ".join(f"{t * 1000:.0f} ms" for t in paint_runs))
        if args.paint_only:
            return 0 if paint_runs else 1

        config = TrainConfig(model=args.model, steps=100000, eval_every=100, checkpoint_every=0)
        run = launch_detached(config, runs_dir, threads=args.threads)
        print(f"training {args.model} (default config) detached in {run}")
        deadline = time.time() + 60
        while time.time() < deadline and (read_status(run) or {}).get("step", 0) < 5:
            time.sleep(0.2)
        paint_train = first_paint(runs_dir, cols, rows, "train", args.paint_repeats)
        print("first paint, Train screen, run training: " + ", ".join(f"{t * 1000:.0f} ms" for t in paint_train))

        term = Terminal(["--runs-dir", str(runs_dir), "--screen", "train"], cols, rows)
        term.wait_for("steps/s", timeout=30)
        time.sleep(3.0)  # let the charts fill and the device worker finish
        results, presses, timeouts = key_latency(term, args.presses)
        status = read_status(run) or {}
    finally:
        if term is not None:
            term.close()
        if run is not None:
            print(f"training run {stop_run(run, args.stop_timeout)}")
        shutil.rmtree(runs_dir, ignore_errors=True)

    names = {"s": "s (smoothing, charts redrawn)", "g": "g (log loss, charts redrawn)", "1": "1 (to Runs screen)", "2": "2 (to Train screen)"}
    every = [v for values in results.values() for v in values]
    print(f"\nkey-to-screen latency, {len(every)} presses ({timeouts} timed out), {cols}x{rows}, run at step {status.get('step')}:")
    for key in names:
        values = results.get(key, [])
        if values:
            print(f"  {names[key]:<32} p50 {statistics.median(values) * 1000:6.1f} ms   p95 {percentile(values, 95) * 1000:6.1f} ms   max {max(values) * 1000:6.1f} ms")
    if every:
        print(f"  {'all keys':<32} p50 {statistics.median(every) * 1000:6.1f} ms   p95 {percentile(every, 95) * 1000:6.1f} ms   max {max(every) * 1000:6.1f} ms")
    slowest = ", ".join(f"#{i} {key} {dt * 1000:.0f} ms" for dt, i, key in sorted(presses, reverse=True)[:5])
    print(f"  slowest presses: {slowest}")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0 if every and not timeouts else 1


if __name__ == "__main__":
    raise SystemExit(main())
