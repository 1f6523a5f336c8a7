"""How long the task generators take: median ms to make one batch (batch 32 and 64, seq_len 64 and 192), per task.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_tasks.py [--repeats 15]

Training makes one batch per step on the CPU, so this is overhead every step pays.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forgetnet_core.config import TaskKnobs  # noqa: E402
from forgetnet_core.tasks import TASKS, make_batch, recall_targets  # noqa: E402


def median_ms(fn, repeats: int) -> float:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    print(f"{'task':<22} {'B32 L64':>9} {'B64 L64':>9} {'B64 L192':>9} {'B64 L64 records 8':>18}  (median ms)")
    for task in TASKS:
        cells = [median_ms(lambda s, b=b, n=n: make_batch(task, s, n, b), args.repeats) for b, n in ((32, 64), (64, 64), (64, 192))]
        knobbed = median_ms(lambda s: make_batch(task, s, 64, 64, knobs=TaskKnobs(records=8)), args.repeats)
        print(f"{task:<22} " + " ".join(f"{c:>9.2f}" for c in cells) + f" {knobbed:>18.2f}")
    batch = make_batch("associative_lookup", 0, 64, 64)
    print(f"recall_targets, B64 L64: {median_ms(lambda s: recall_targets(batch.input_ids), args.repeats):.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
