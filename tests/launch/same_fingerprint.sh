#!/usr/bin/env bash
# A lamina-train job spread over two hosts ends with the same parameters as the same job on one host: runs
# LAMINA_TRAIN ARGS with 4 ranks on a:2,b:2 (TCP between the hosts, shared memory within each), then on a:4, and
# compares rank 0's fingerprint lines. Same ranks, same reduction order, so the parameters agree bit for bit.
#   same_fingerprint.sh LAMINA_TRAIN ARGS...    (environment: see run_on_hosts.sh; exits 77 when there are no hosts)
set -uo pipefail
here=$(dirname "$(realpath "$0")")
output=$(mktemp)
trap 'rm -f "$output"' EXIT

fingerprints=()
for hosts in a:2,b:2 a:4; do
  "$here/run_on_hosts.sh" "$hosts" 4 --oversubscribe "$@" >"$output" 2>&1
  status=$?
  tr '\r' '\n' <"$output" | grep -v '^epoch [0-9]*/[0-9]* \['  # all but the progress bar
  ((status == 77)) && exit 77
  if ((status != 0)); then
    echo "same_fingerprint.sh: FAIL: the job on $hosts failed with exit status $status"
    exit 1
  fi
  fingerprint=$(grep -oE 'rank 0: fingerprint [0-9a-f]+ \(equal on all ranks\)' "$output" | grep -oE '[0-9a-f]{16}')
  if [[ -z $fingerprint ]]; then
    echo "same_fingerprint.sh: FAIL: no 'rank 0: fingerprint ... (equal on all ranks)' line from the job on $hosts"
    exit 1
  fi
  echo "same_fingerprint.sh: 4 ranks on $hosts: fingerprint $fingerprint"
  fingerprints+=("$fingerprint")
done
if [[ ${fingerprints[0]} != "${fingerprints[1]}" ]]; then
  echo "same_fingerprint.sh: FAIL: two hosts ended with ${fingerprints[0]}, one host with ${fingerprints[1]}"
  exit 1
fi
echo "same_fingerprint.sh: PASS: the same parameters on two hosts and on one"
