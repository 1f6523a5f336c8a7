"""Peak resident memory of `forgetnet train --steps 100` (default model and task), as a fresh process.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_rss.py [--repeats 2] [-- extra train flags]

Prints the child's peak RSS (ru_maxrss) for each run, once as installed and once with Triton made
unimportable: `torch.optim` imports `torch._dynamo`, which imports Triton whenever it is installed (the
`cuda` extra, or any CUDA build of torch), and that alone adds about 100 MB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile

CHILD = """import sys
if {block}:
    sys.modules["triton"] = None
from forgetnet_core.cli import main
raise SystemExit(main(["train", "--steps", "100", "--output-dir", {out!r}, *{extra!r}]))
"""


def peak_rss_mb(block_triton: bool, extra: list[str]) -> float:
    """Peak RSS in MB of the largest child so far: call it once per process (main does)."""
    with tempfile.TemporaryDirectory() as out:
        code = CHILD.format(block=block_triton, out=out, extra=extra)
        subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("extra", nargs="*", help="flags passed to forgetnet train (after --)")
    args = parser.parse_args(argv)
    for block in (True, False):
        label = "without Triton" if block else "as installed  "
        for _ in range(args.repeats):
            # ru_maxrss of RUSAGE_CHILDREN is the largest child so far, so measure each setting in its own process.
            code = (f"import sys; sys.path.insert(0, {sys.path[0]!r}); from train_rss import peak_rss_mb; "
                    f"print(round(peak_rss_mb({block}, {args.extra!r})))")
            mb = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
            print(f"{label}  peak RSS {mb} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
