#!/usr/bin/env bash
# Runs an MPI job that must fail, and passes only if it fails cleanly: a non-zero exit, within a time bound, with
# output that says what happened.
#
#   expect_job_failure.sh [--within S] [--stop-within S] [--expect REGEX]... [--reject REGEX]... -- COMMAND...
#
#   --within S       the whole job ends within S seconds (default 60); past that it is killed and the test fails
#   --stop-within S  the job ends within S seconds of the injected failure: the time in lamina-train's line
#                    "injecting failure ... (at unix time T)" (the ranks run on this machine, so the clocks agree)
#   --expect REGEX   the output (stdout and stderr) matches this extended regular expression
#   --reject REGEX   the output does not match it
# Exit status: 0 when all holds, 1 otherwise, 77 (ctest: skipped) when the multi-host set-up was skipped
# (LAMINA_HOSTS_STATE names its state folder and holds no hosts.env).
set -uo pipefail

within=60
stop_within=""
expects=()
rejects=()
while (($#)); do
  case $1 in
    --within) within=$2; shift 2 ;;
    --stop-within) stop_within=$2; shift 2 ;;
    --expect) expects+=("$2"); shift 2 ;;
    --reject) rejects+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "expect_job_failure.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ -n ${LAMINA_HOSTS_STATE:-} && ! -f $LAMINA_HOSTS_STATE/hosts.env ]]; then
  cat "$LAMINA_HOSTS_STATE/hosts.skipped" 2>/dev/null || echo "expect_job_failure.sh: no multi-host set-up"
  exit 77
fi

output=$(mktemp)
trap 'rm -f "$output"' EXIT
start=$(date +%s.%N)
# Past the bound, mpirun gets SIGTERM, then SIGKILL (a stuck mpirun may ignore SIGTERM); ranks on this host end
# with it, and the multi-host tests' clean-up kills everything on the namespace hosts.
timeout --kill-after=5 "$within" "$@" >"$output" 2>&1
status=$?
end=$(date +%s.%N)
cat "$output"
echo "----"

failed=0
fail() { echo "expect_job_failure.sh: FAIL: $*"; failed=1; }
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
if ((status == 124 || status == 137)) && awk -v e="$elapsed" -v w="$within" 'BEGIN { exit !(e >= w) }'; then
  fail "the job did not end within $within s (killed after $elapsed s)"
elif ((status == 0)); then
  fail "the job succeeded (exit status 0) but should have failed"
else
  echo "expect_job_failure.sh: the job failed with exit status $status after $elapsed s"
fi
if [[ -n $stop_within ]]; then
  injected=$(grep -oE 'injecting failure .*at unix time [0-9.]+' "$output" | head -1 | grep -oE '[0-9.]+$')
  if [[ -z $injected ]]; then
    fail "no 'injecting failure ... at unix time T' line in the output"
  else
    after=$(awk -v a="$injected" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    if awk -v s="$after" -v w="$stop_within" 'BEGIN { exit !(s <= w) }'; then
      echo "expect_job_failure.sh: all ranks stopped $after s after the injected failure (bound $stop_within s)"
    else
      fail "the job ended $after s after the injected failure, more than $stop_within s"
    fi
  fi
fi
for regex in "${expects[@]}"; do
  grep -qE -- "$regex" "$output" || fail "the output does not match: $regex"
done
for regex in "${rejects[@]}"; do
  grep -qE -- "$regex" "$output" && fail "the output matches what it must not: $regex"
done
((failed)) || echo "expect_job_failure.sh: PASS"
exit "$failed"
