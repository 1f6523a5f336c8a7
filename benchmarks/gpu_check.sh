#!/usr/bin/env bash
# Issue 15 on a CUDA machine, in one go (about 5-8 minutes on an H200, most of it Triton compiling):
#   1. the fused recurrence against the reference loop on the GPU (logits, stats, every gradient within 1e-4),
#      compiled kernels, every Plan, plus the torch fast path's CUDA test;
#   2. bench_models at batch 32, seq_len 64 (the issue's <= 5 ms forgetnet train step), with the equivalence
#      report, the ForgetNet family on the kernel, on the torch recurrence and on the reference loop;
#   3. bench_models --throughput: sequences/s at batch 512, seq_len 64 and 512, every memory model against the
#      Transformers;
#   4. `forgetnet train --device cuda --batch-size 512`: its progress lines show seq/s.
# Usage: benchmarks/gpu_check.sh [OUT_DIR]   (default benchmarks/results; PYTHON picks the interpreter, default
# python3, which must have a CUDA torch and Triton). Writes OUT_DIR/<gpu>-kernel.json, <gpu>-throughput.json and
# a log per step; commit the JSON. Each step has its own time limit so a slow one cannot eat the others.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-benchmarks/results}"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TRITON_DEFAULT_FP_FUSION=1
unset TRITON_INTERPRET
mkdir -p "$OUT"
LABEL=$("$PY" -c "import re, torch; print(re.sub('[^a-z0-9]+', '-', torch.cuda.get_device_name().lower()).strip('-'))") || {
    echo "gpu_check: $PY has no CUDA GPU (torch.cuda.get_device_name failed)"; exit 1; }
"$PY" -c "import torch, triton; print('torch', torch.__version__, '| triton', triton.__version__, '|', torch.cuda.get_device_name())" \
    | tee "$OUT/$LABEL-env.log"
status=0

echo "== 1. equivalence tests on $LABEL"
timeout 300 "$PY" -m pytest -q -rs -p no:cacheprovider tests/core/test_triton_recurrence.py \
    tests/core/test_fast_path.py::test_cuda_fast_path_matches_cpu_reference 2>&1 | tee "$OUT/$LABEL-tests.log" || status=1

echo "== 2. train step at batch 32, seq_len 64 (kernel, torch recurrence, reference loop) + equivalence report"
timeout 240 "$PY" benchmarks/bench_models.py --device cuda --check-equivalence --seq-lens 64 --batches 32 \
    --models forgetnet,no_forget,no_surprise,random_write,fifo_memory,tiny_transformer,local_transformer \
    --output "$OUT/$LABEL-kernel.json" 2>&1 | tee "$OUT/$LABEL-kernel.log" || status=1

echo "== 3. sequences/s at batch 512, seq_len 64 and 512"
timeout 300 "$PY" benchmarks/bench_models.py --device cuda --throughput --no-graphs \
    --output "$OUT/$LABEL-throughput.json" 2>&1 | tee "$OUT/$LABEL-throughput.log" || status=1

echo "== 4. forgetnet train --device cuda --batch-size 512 (progress lines with seq/s)"
RUNS=$(mktemp -d)
timeout 120 "$PY" -m forgetnet_core.cli train --device cuda --model forgetnet --batch-size 512 --steps 30 \
    --eval-every 0 --output-dir "$RUNS" 2>&1 | tee "$OUT/$LABEL-train.log" || status=1
rm -rf "$RUNS"
exit $status
