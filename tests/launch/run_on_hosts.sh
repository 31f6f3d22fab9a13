#!/usr/bin/env bash
# Runs an MPI job on the namespace hosts of hosts.sh through lamina-run, started from the first host listed (as a
# user logged in there would), with TCP between the hosts pinned to their private subnet:
#   run_on_hosts.sh HOSTS NP [lamina-run or mpirun options] PROGRAM ARGS...    HOSTS like a:2,b:2 (hosts.sh's letters)
# Environment: LAMINA_HOSTS_STATE (hosts.sh's state folder), LAMINA_RUN (the lamina-run to use).
# Exits 77 (ctest: skipped) with the reason when the hosts were not set up.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
state=${LAMINA_HOSTS_STATE:?set LAMINA_HOSTS_STATE to hosts.sh\'s state folder}
if [[ ! -f $state/hosts.env ]]; then
  cat "$state/hosts.skipped" 2>/dev/null || echo "run_on_hosts.sh: the namespace hosts were not set up"
  exit 77
fi
source "$state/hosts.env"
prefix=${LAMINA_HOSTS[0]%-a}
spec=${1:?hosts like a:2,b:2}
np=${2:?number of ranks}
shift 2
hosts=$(sed -E "s/(^|,)([a-h]):/\1$prefix-\2:/g" <<<"$spec")
exec "$here/hosts.sh" exec "$state" "${hosts%%:*}" "${LAMINA_RUN:?set LAMINA_RUN to lamina-run}" -np "$np" \
  --hosts "$hosts" --net "$LAMINA_NET" --tcp --rsh-agent "$here/rsh_agent.sh" "$@"
