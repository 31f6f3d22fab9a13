#!/bin/sh
# End-to-end checkpoint tests of lamina-train: each runs a few short MPI jobs on a slice of Fashion-MNIST (1024
# training samples, global batch 64: 16 steps an epoch, 2 epochs) and compares what they log.
#
#   resume_test.sh <mode> <lamina-train> <mpirun> <scratch dir> [ranks] [resume ranks]
#
#   rank-kill N    N ranks; the last rank SIGKILLs itself after step 6, mid-epoch, after the step-4 checkpoint.
#                  --resume must give the uninterrupted run's step lines 5..32 (losses print float32 exactly) and
#                  its final fingerprint, bitwise.
#   write-kill N   the job is killed halfway through writing its second checkpoint (step 8): the step-4 checkpoint
#                  stays the latest, the unfinished file is reported and ignored, and the resume is exact.
#   world N M      saved at N ranks (step 4, mid-epoch) and resumed at M: exactly the remaining 28 steps run, and
#                  the final weights equal the uninterrupted N-rank run's to rounding (relative 1e-5), since each
#                  global batch is the same samples split differently over the ranks.
#   write-error    the checkpoint directory cannot be created: every rank reports the path and the cause.
#   mismatch       resuming with another --batch-size is refused on every rank, naming the difference.
#   init-from      --init-from a .npz written by numpy starts from those weights (with lr 0 they come out
#                  unchanged); a .npz that lacks an array is refused, naming it.
set -eu

mode=$1 train=$2 mpirun=$3 dir=$4
ranks=${5:-2} resume_ranks=${6:-2}
python=/usr/bin/python3
slice="--model mlp --train-samples 1024 --test-samples 256"

rm -rf "$dir"
mkdir -p "$dir"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
job() {  # [epochs=E] [batch=B] job <ranks> <output file> <lamina-train arguments...>
  n=$1 out=$2
  shift 2
  "$mpirun" -n "$n" --oversubscribe -x LAMINA_CHECKPOINT_KILL_AFTER_BYTES \
    "$train" $slice --epochs "${epochs:-2}" --batch-size "${batch:-64}" "$@" >"$out" 2>&1
}
steps_after() {  # the "step" metrics lines of $1 with global step > $2
  grep '"event": "step"' "$1" | awk -v s="$2" -F'"global_step": ' '{ split($2, a, ","); if (a[1] + 0 > s) print }'
}
same_run_after_step() {  # same_run_after_step <reference metrics> <resumed metrics> <step>
  steps_after "$1" "$3" >"$dir/expected.steps"
  steps_after "$2" "$3" >"$dir/actual.steps"
  [ -s "$dir/expected.steps" ] || fail "no step lines in $1"
  cmp -s "$dir/expected.steps" "$dir/actual.steps" || {
    diff "$dir/expected.steps" "$dir/actual.steps" | head -20 >&2
    fail "the resumed run's steps differ from the uninterrupted run's"
  }
  grep '"event": "end"' "$1" >"$dir/expected.end"
  grep '"event": "end"' "$2" >"$dir/actual.end"
  cmp -s "$dir/expected.end" "$dir/actual.end" || fail "final fingerprints differ: $(cat "$dir/expected.end") vs $(cat "$dir/actual.end")"
  echo "identical after step $3: $(wc -l <"$dir/actual.steps") step lines and $(cat "$dir/actual.end")"
}
straight() {  # the uninterrupted run, keeping every checkpoint (and its final weights)
  LAMINA_CHECKPOINT_KILL_AFTER_BYTES= \
    job "$1" "$dir/straight.out" --metrics "$dir/straight.jsonl" --checkpoint-dir "$dir/straight" \
    --checkpoint-every 4 --keep 0 --save-npz "$dir/straight.npz" || fail "the uninterrupted run failed: $(tail -5 "$dir/straight.out")"
}
export LAMINA_CHECKPOINT_KILL_AFTER_BYTES=

case $mode in
rank-kill)
  straight "$ranks"
  if job "$ranks" "$dir/killed.out" --metrics "$dir/killed.jsonl" --checkpoint-dir "$dir/ck" --checkpoint-every 4 \
    --fail-at-step 6 --fail-rank $((ranks - 1)) --fail-mode kill; then
    fail "the job survived the SIGKILL of rank $((ranks - 1))"
  fi
  grep -q '"global_step": 6,' "$dir/killed.jsonl" || fail "the job died before step 6"
  grep -q '"global_step": 7,' "$dir/killed.jsonl" && fail "the job went on after step 6"
  [ "$(cat "$dir/ck/latest")" = checkpoint-00000004.ckpt ] || fail "latest is $(cat "$dir/ck/latest"), not step 4's"
  job "$ranks" "$dir/resumed.out" --metrics "$dir/resumed.jsonl" --checkpoint-dir "$dir/ck" --checkpoint-every 4 --resume ||
    fail "the resume failed: $(tail -5 "$dir/resumed.out")"
  grep -q "resumed from $dir/ck/checkpoint-00000004.ckpt: epoch 1, step 4" "$dir/resumed.out" || fail "did not resume from step 4"
  same_run_after_step "$dir/straight.jsonl" "$dir/resumed.jsonl" 4
  ;;
write-kill)
  straight "$ranks"
  size=$(stat -c %s "$dir/straight/checkpoint-00000004.ckpt")
  pointer=$(stat -c %s "$dir/straight/latest")
  half=$((size + pointer + size / 2))
  if LAMINA_CHECKPOINT_KILL_AFTER_BYTES=$half job "$ranks" "$dir/killed.out" --metrics "$dir/killed.jsonl" \
    --checkpoint-dir "$dir/ck" --checkpoint-every 4; then
    fail "the job survived being killed mid-write"
  fi
  [ "$(cat "$dir/ck/latest")" = checkpoint-00000004.ckpt ] || fail "latest is $(cat "$dir/ck/latest"), not step 4's"
  [ "$(stat -c %s "$dir/ck/checkpoint-00000004.ckpt")" = "$size" ] || fail "the step-4 checkpoint changed size"
  [ "$(stat -c %s "$dir/ck/checkpoint-00000008.ckpt.tmp")" = $((size / 2)) ] || fail "no half-written step-8 temp file"
  [ -e "$dir/ck/checkpoint-00000008.ckpt" ] && fail "a checkpoint for step 8 appeared"
  job "$ranks" "$dir/resumed.out" --metrics "$dir/resumed.jsonl" --checkpoint-dir "$dir/ck" --checkpoint-every 4 --resume ||
    fail "the resume failed: $(tail -5 "$dir/resumed.out")"
  grep -q "note: $dir/ck/checkpoint-00000008.ckpt.tmp is the remains of a checkpoint write that did not finish" "$dir/resumed.out" ||
    fail "the unfinished write was not reported"
  grep -q "resumed from $dir/ck/checkpoint-00000004.ckpt: epoch 1, step 4" "$dir/resumed.out" || fail "did not resume from step 4"
  [ -e "$dir/ck/checkpoint-00000008.ckpt.tmp" ] && fail "the unfinished file was not cleaned up by the next save"
  same_run_after_step "$dir/straight.jsonl" "$dir/resumed.jsonl" 4
  ;;
world)
  straight "$ranks"
  job "$resume_ranks" "$dir/resumed.out" --metrics "$dir/resumed.jsonl" --resume "$dir/straight/checkpoint-00000004.ckpt" \
    --save-npz "$dir/resumed.npz" || fail "the resume failed: $(tail -5 "$dir/resumed.out")"
  grep -q "epoch 1, step 4, 256 samples of the epoch seen (saved by $ranks rank(s))" "$dir/resumed.out" ||
    fail "did not resume at step 4 with 256 samples seen: $(grep resumed "$dir/resumed.out")"
  first=$(steps_after "$dir/resumed.jsonl" 0 | head -1)
  case $first in *'"epoch": 0, "step": 4, "global_step": 5,'*) ;; *) fail "the resumed run began with $first" ;; esac
  [ "$(steps_after "$dir/resumed.jsonl" 0 | wc -l)" = 28 ] || fail "the resumed run did not take the 28 remaining steps"
  "$python" - "$dir/straight.npz" "$dir/resumed.npz" <<'EOF'
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert sorted(a.keys()) == sorted(b.keys()), (sorted(a.keys()), sorted(b.keys()))
worst = max(float(np.max(np.abs(a[k] - b[k])) / np.max(np.abs(a[k]))) for k in a.keys())
print(f"largest difference relative to the largest weight: {worst:.3g}")
assert worst < 1e-5, worst
EOF
  ;;
write-error)
  touch "$dir/not-a-directory"
  if job 2 "$dir/out" --checkpoint-dir "$dir/not-a-directory" --checkpoint-every 4; then fail "the job succeeded"; fi
  cat "$dir/out"
  for r in 0 1; do
    grep -q "lamina-train: rank $r: .*checkpoint '$dir/not-a-directory': cannot create the checkpoint directory: Not a directory" "$dir/out" ||
      fail "rank $r did not report the failed write"
  done
  ;;
mismatch)
  epochs=1 job 2 "$dir/first.out" --checkpoint-dir "$dir/ck" || fail "the first run failed"
  if batch=128 job 2 "$dir/out" --checkpoint-dir "$dir/ck" --resume; then fail "the resume was accepted"; fi
  for r in 0 1; do
    grep -q "lamina-train: rank $r: cannot resume from '$dir/ck/checkpoint-00000016.ckpt': it was saved by a different run: epochs 1 (this run: 2), global_batch 64 (this run: 128)" "$dir/out" ||
      fail "rank $r did not name the differences: $(cat "$dir/out")"
  done
  ;;
init-from)
  epochs=1 job 2 "$dir/shapes.out" --save-npz "$dir/trained.npz" || fail "the export run failed"
  # numpy writes other weights of the same names and shapes (np.savez: stored entries with zip64 records)...
  "$python" - "$dir/trained.npz" "$dir/numpy.npz" "$dir/missing.npz" <<'EOF'
import sys
import numpy as np
trained = np.load(sys.argv[1])
rng = np.random.default_rng(7)
weights = {k: rng.standard_normal(trained[k].shape).astype(np.float32) * 0.05 for k in trained.keys()}
np.savez(sys.argv[2], **weights)
del weights[sorted(weights)[0]]
np.savez(sys.argv[3], **weights)
EOF
  # ... which a run with learning rate 0 must start from and end with, bit for bit.
  epochs=1 job 2 "$dir/init.out" --lr 0 --init-from "$dir/numpy.npz" --save-npz "$dir/after.npz" ||
    fail "the --init-from run failed: $(tail -5 "$dir/init.out")"
  "$python" - "$dir/numpy.npz" "$dir/after.npz" <<'EOF'
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert sorted(a.keys()) == sorted(b.keys())
for k in a.keys():
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and np.array_equal(a[k], b[k]), k
print("weights after a run at lr 0 are the imported ones:", ", ".join(sorted(a.keys())))
EOF
  if epochs=1 job 2 "$dir/bad.out" --init-from "$dir/missing.npz"; then fail "a .npz without all arrays was accepted"; fi
  grep -q "lamina-train: rank 1: '$dir/missing.npz': load_state_dict: the state does not match the model; missing keys: " "$dir/bad.out" ||
    fail "the missing array was not named: $(cat "$dir/bad.out")"
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
echo "PASS $mode"
