#!/usr/bin/env bash
# Issue 6: after a host disappears mid-training, a restart with --resume continues the run. Runs LAMINA_TRAIN ARGS
# uninterrupted with 4 ranks on a:4 (the reference), then on a:2,b:2 with --checkpoint-dir, cutting host b's link
# once a checkpoint exists (host_disappears.sh: the job must end with an error naming b), then resumes on a:2,c:2
# with --resume. Same world size, so the resumed run must start at the latest checkpoint's step and give the
# reference's "step" metrics lines after it and its final fingerprint, bit for bit.
#   resume_after_host_loss.sh LAMINA_TRAIN ARGS...   (environment: see run_on_hosts.sh; exits 77 without hosts)
set -uo pipefail
here=$(dirname "$(realpath "$0")")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() {
  echo "resume_after_host_loss.sh: FAIL: $*"
  exit 1
}
run() {  # run HOSTS OUTPUT ARGS...
  local hosts=$1 out=$2
  shift 2
  "$here/run_on_hosts.sh" "$hosts" 4 --oversubscribe "$@" >"$out" 2>&1
  local status=$?
  tr '\r' '\n' <"$out" | grep -v '^epoch [0-9]*/[0-9]* \['  # all but the progress bar
  ((status == 77)) && exit 77
  ((status == 0)) || fail "the job on $hosts failed with exit status $status"
}
fingerprint() { grep -oE 'rank 0: fingerprint [0-9a-f]+ \(equal on all ranks\)' "$1" | grep -oE '[0-9a-f]{16}'; }
steps_after() {  # the "step" metrics lines of $1 with global step > $2
  grep '"event": "step"' "$1" | awk -v s="$2" -F'"global_step": ' '{ split($2, a, ","); if (a[1] + 0 > s) print }'
}

train=$1
shift
run a:4 "$dir/reference.out" "$train" "$@" --checkpoint-dir "$dir/reference" --metrics "$dir/reference.jsonl"
"$here/host_disappears.sh" --within 45 --checkpoint-dir "$dir/ck" "$train" "$@" || fail "see host_disappears.sh above"
latest=$(cat "$dir/ck/latest")
step=$((10#$(grep -oE '[0-9]+' <<<"$latest")))
echo "resume_after_host_loss.sh: the latest checkpoint is $latest (step $step); resuming on a:2,c:2"
run a:2,c:2 "$dir/resumed.out" "$train" "$@" --checkpoint-dir "$dir/ck" --resume --metrics "$dir/resumed.jsonl"
grep -q "resumed from $dir/ck/$latest: epoch [0-9]*, step " "$dir/resumed.out" || fail "did not resume from $latest"
steps_after "$dir/reference.jsonl" "$step" >"$dir/expected.steps"
steps_after "$dir/resumed.jsonl" 0 >"$dir/actual.steps"
[[ -s $dir/expected.steps ]] || fail "the checkpoint was the last one: nothing left to resume"
cmp -s "$dir/expected.steps" "$dir/actual.steps" || {
  diff "$dir/expected.steps" "$dir/actual.steps" | head -20
  fail "the resumed run's steps differ from the uninterrupted run's after step $step"
}
reference=$(fingerprint "$dir/reference.out") resumed=$(fingerprint "$dir/resumed.out")
[[ -n $reference && $reference == "$resumed" ]] || fail "final fingerprint '$resumed', uninterrupted run's '$reference'"
echo "resume_after_host_loss.sh: PASS: resumed at step $step on a:2,c:2; $(wc -l <"$dir/actual.steps") step lines" \
  "and the fingerprint $resumed equal to the uninterrupted run's on a:4"
