#!/usr/bin/env bash
# A host that disappears mid-training ends the job with an error, not a hang: starts LAMINA_TRAIN ARGS with 4 ranks
# on a:2,b:2, takes host b's link down once the first epoch is done (with --checkpoint-dir D: once D holds a
# checkpoint; the job gets --checkpoint-dir D), and passes if the job then ends within --within seconds, with a
# non-zero exit status and a message that names host b. Afterwards host b comes back (its processes killed, as
# after a reboot), also when the test fails. resume_after_host_loss.sh then resumes such a job.
#   host_disappears.sh [--within S] [--checkpoint-dir D] LAMINA_TRAIN ARGS...
#   (environment: see run_on_hosts.sh; exits 77 without hosts)
#
# mpirun's daemons notice the lost host through TCP keepalive on their connections (the test sets it to 2 + 3 * 1 s;
# lamina-run's default is 25 s), which must happen before a collective times out: ARGS should set a longer
# --collective-timeout (see lamina-train's note about it).
#
set -uo pipefail
here=$(dirname "$(realpath "$0")")
within=45
checkpoints=""
if [[ ${1:-} == --within ]]; then within=$2; shift 2; fi
if [[ ${1:-} == --checkpoint-dir ]]; then checkpoints=$2; shift 2; fi
state=${LAMINA_HOSTS_STATE:?set LAMINA_HOSTS_STATE to hosts.sh\'s state folder}
if [[ ! -f $state/hosts.env ]]; then
  cat "$state/hosts.skipped" 2>/dev/null || echo "host_disappears.sh: the namespace hosts were not set up"
  exit 77
fi
source "$state/hosts.env"
host_b=${LAMINA_HOSTS[1]}
output=$(mktemp)
job=""
finish() {
  [[ -n $job ]] && kill -9 "$job" 2>/dev/null
  "$here/hosts.sh" restore "$state" "$host_b"
  rm -f "$output"
}
trap finish EXIT

"$here/run_on_hosts.sh" a:2,b:2 4 --oversubscribe --mca oob_tcp_keepalive_time 2 --mca oob_tcp_keepalive_intvl 1 \
  --mca oob_tcp_keepalive_probes 3 "$@" ${checkpoints:+--checkpoint-dir "$checkpoints"} >"$output" 2>&1 &
job=$!
if [[ -n $checkpoints ]]; then
  ready() { [[ -s $checkpoints/latest ]]; }
  moment="a checkpoint was written"
else
  ready() { grep -q '^epoch 1/[0-9]*:' "$output"; }
  moment="the first epoch"
fi
for ((i = 0; i < 600; ++i)); do
  ready && break
  kill -0 "$job" 2>/dev/null || break
  sleep 0.1
done
if ! ready; then
  tr '\r' '\n' <"$output"
  echo "host_disappears.sh: FAIL: the job did not reach '$moment' within 60 s"
  exit 1
fi
"$here/hosts.sh" cut "$state" "$host_b"
cut=$(date +%s.%N)
echo "host_disappears.sh: took $host_b's link down after $moment"
for ((i = 0; i < 10 * within; ++i)); do
  kill -0 "$job" 2>/dev/null || break
  sleep 0.1
done
ended=$(date +%s.%N)
if kill -0 "$job" 2>/dev/null; then
  status=none
else
  wait "$job"
  status=$?
  job=""
fi
tr '\r' '\n' <"$output" | grep -v '^epoch [0-9]*/[0-9]* \['  # all but the progress bar
echo "----"
after=$(awk -v a="$cut" -v b="$ended" 'BEGIN { printf "%.1f", b - a }')
failed=0
fail() { echo "host_disappears.sh: FAIL: $*"; failed=1; }
if [[ $status == none ]]; then
  fail "the job was still running $within s after $host_b disappeared"
elif ((status == 0 || status == 77)); then
  fail "the job ended with exit status $status"
else
  echo "host_disappears.sh: the job ended $after s after $host_b disappeared, exit status $status"
fi
grep -qE "lost communication with a remote daemon" "$output" || fail "no 'lost communication with a remote daemon'"
grep -qE "Remote daemon: .* on node $host_b" "$output" || fail "the output does not name the lost host $host_b"
((failed)) || echo "host_disappears.sh: PASS"
exit "$failed"
