#!/bin/sh
# mpirun's remote shell for the namespace hosts of hosts.sh (--mca plm_rsh_agent): runs a command on HOST the way
# ssh would, inside HOST's network namespace and with HOST as the hostname (its own UTS namespace). Open MPI tells
# hosts apart by hostname; two hosts with one name would share a session folder and shared-memory segments.
#   rsh_agent.sh HOST COMMAND...
host=$1
shift
exec ip netns exec "$host" unshare --uts sh -c "hostname '$host' && $*"
