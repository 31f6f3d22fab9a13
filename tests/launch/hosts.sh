#!/usr/bin/env bash
# Several hosts on one machine, for the multi-host tests. Each host is a Linux network namespace with its own
# veth link into a bridge; the bridge lives in a namespace of its own (the switch), so the root namespace is never
# touched and the hosts have no route anywhere but the private subnet 10.77.0.0/24: no packet of a test can leave
# this machine's test network. The processes of a host get its name as their hostname (see rsh_agent.sh).
#
#   hosts.sh setup STATE_DIR [N]   removes what an earlier run left, then creates N hosts (default 3) and writes
#                                  STATE_DIR/hosts.env; exits 77 (ctest: skipped) with the reason when it cannot
#   hosts.sh cleanup STATE_DIR     kills every process on the hosts and deletes them
#   hosts.sh exec STATE_DIR HOST COMMAND...   runs COMMAND on HOST (as if logged in there)
#   hosts.sh cut STATE_DIR HOST    takes HOST's link down (the host disappears from the network)
#   hosts.sh restore STATE_DIR HOST   brings HOST back as if rebooted: kills what ran there, link up
#
# Names derive from STATE_DIR, so two build trees testing at the same time never share or delete each other's hosts.
set -euo pipefail

command=${1:?usage: hosts.sh setup|cleanup|cut|restore STATE_DIR [N|HOST]}
state_dir=${2:?usage: hosts.sh $command STATE_DIR}
prefix=lamina-$(printf '%s' "$(realpath -m "$state_dir")" | md5sum | cut -c1-4)
switch=$prefix-sw
subnet=10.77.0
letters=(a b c d e f g h)

skip() {
  echo "hosts.sh: multi-host tests skipped: $*" | tee "$state_dir/hosts.skipped"
  exit 77
}

cleanup() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$prefix-" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  # Open MPI's session folders of the hosts (their processes were killed before they could remove them).
  rm -rf /tmp/ompi."$prefix"-* 2>/dev/null || true
  rm -f "$state_dir/hosts.env"
}

setup() {
  local count=${1:-3}
  mkdir -p "$state_dir"
  rm -f "$state_dir/hosts.skipped" "$state_dir/hosts.env"
  ((EUID == 0)) || skip "they need root (network namespaces), and this runs as uid $EUID"
  command -v ip >/dev/null || skip "the ip command (iproute2) is not installed"
  command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
  cleanup
  ip netns add "$switch" 2>/dev/null || skip "'ip netns add' failed (no network namespaces in this container?)"
  unshare --uts true 2>/dev/null || { cleanup; skip "'unshare --uts' failed (hosts need their own hostname)"; }
  trap 'cleanup; echo "hosts.sh: setting up the hosts failed" >&2' ERR
  ip -n "$switch" link add name br type bridge
  ip -n "$switch" link set dev br up
  ip -n "$switch" link set dev lo up
  local hosts=() i host
  for ((i = 0; i < count; ++i)); do
    host=$prefix-${letters[i]}
    ip netns add "$host"
    # One end is eth0 on the host, the other a port of the switch's bridge named after the host's letter.
    ip -n "$switch" link add name "port-${letters[i]}" type veth peer name eth0 netns "$host"
    ip -n "$switch" link set dev "port-${letters[i]}" master br up
    ip -n "$host" addr add "$subnet.$((i + 2))/24" dev eth0
    ip -n "$host" link set dev eth0 up
    ip -n "$host" link set dev lo up
    hosts+=("$host")
  done
  # Every host answers the first one before any test starts (a new bridge port may take a moment to forward). No
  # ping here: a reachable host refuses a TCP connection to a closed port at once.
  local attempt
  for ((i = 1; i < count; ++i)); do
    for ((attempt = 1; ; ++attempt)); do
      [[ $(timeout 2 ip netns exec "${hosts[0]}" bash -c "echo >/dev/tcp/$subnet.$((i + 2))/9" 2>&1) == *refused* ]] && break
      ((attempt < 10)) || { cleanup; skip "the namespace hosts cannot reach each other"; }
      sleep 0.5
    done
  done
  {
    echo "LAMINA_HOSTS=(${hosts[*]})"
    echo "LAMINA_NET=$subnet.0/24"
  } >"$state_dir/hosts.env"
  echo "hosts.sh: ${hosts[*]} on $subnet.0/24 (switch $switch)"
}

case $command in
  setup) setup "${3:-3}" ;;
  cleanup) cleanup; echo "hosts.sh: removed the $prefix-* hosts" ;;
  exec)
    host=${3:?host}
    shift 3
    exec ip netns exec "$host" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$host" "$@" ;;
  cut) ip -n "${3:?host}" link set dev eth0 down ;;
  restore)
    ip netns pids "${3:?host}" | xargs -r kill -9 2>/dev/null || true
    rm -rf /tmp/ompi."$3".* 2>/dev/null || true
    ip -n "$3" link set dev eth0 up ;;
  *) echo "hosts.sh: unknown command '$command'" >&2; exit 2 ;;
esac
