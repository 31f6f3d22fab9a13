#!/usr/bin/env bash
# lamina-run's command lines: the mpirun line it builds for each kind of use (--dry-run prints it), and that it runs
# exactly that line (with MPIRUN=echo).
#   lamina_run_test.sh LAMINA_RUN
set -uo pipefail
lamina_run=${1:?usage: lamina_run_test.sh LAMINA_RUN}
failures=0

line() { "$lamina_run" --dry-run "$@" 2>&1; }
# expect_line DESCRIPTION REGEX ARGS...: the mpirun line for ARGS matches REGEX (extended, on the whole line)
expect_line() {
  local description=$1 regex=$2 out
  shift 2
  out=$(line "$@")
  if [[ $out =~ $regex ]]; then
    echo "ok: $description"
  else
    echo "FAIL: $description"
    echo "  lamina-run $*"
    echo "  printed:  $out"
    echo "  expected: $regex"
    failures=$((failures + 1))
  fi
}
# expect_count DESCRIPTION WORD N ARGS...: WORD occurs N times in the line
expect_count() {
  local description=$1 word=$2 n=$3 out count
  shift 3
  out=$(line "$@")
  count=$(grep -o -- "$word" <<<"$out" | wc -l)
  if ((count == n)); then echo "ok: $description"; else
    echo "FAIL: $description: '$word' occurs $count times, expected $n, in: $out"
    failures=$((failures + 1))
  fi
}

root=""
((EUID == 0)) && root=" --allow-run-as-root"
expect_line "hosts, binding, one thread per rank, then the user's options and the program" \
  "^lamina-run: mpirun$root --host a:4,b:4 --map-by slot:PE=1 --bind-to core -x OMP_NUM_THREADS=1 -x OPENBLAS_NUM_THREADS=1 .* -np 8 train --epochs 2\$" \
  -np 8 --hosts a:4,b:4 train --epochs 2
expect_line "--threads binds each rank to that many cores" \
  "--map-by slot:PE=4 --bind-to core -x OMP_NUM_THREADS=4 -x OPENBLAS_NUM_THREADS=4 " --threads 4 -np 2 train
OMP_NUM_THREADS=3 expect_line "the thread count comes from OMP_NUM_THREADS" "-x OMP_NUM_THREADS=3 -x OPENBLAS_NUM_THREADS=3 " -np 2 train
expect_line "--net pins start-up and data traffic to one network" \
  "--mca oob_tcp_if_include 10.1.0.0/16 --mca btl_tcp_if_include 10.1.0.0/16 " --net 10.1.0.0/16 -np 2 train
LAMINA_NET=eth1 expect_line "LAMINA_NET is the default network" \
  "--mca oob_tcp_if_include eth1 --mca btl_tcp_if_include eth1 " -np 2 train
expect_line "--tcp forces TCP between hosts" "--mca pml ob1 --mca btl self,vader,tcp " --tcp -np 2 train
expect_line "--rsh-agent sets how daemons start" "--mca plm_rsh_agent /x/agent " --rsh-agent /x/agent -np 2 train
expect_line "a lost host is noticed within 25 s" \
  "--mca oob_tcp_keepalive_time 10 --mca oob_tcp_keepalive_intvl 5 --mca oob_tcp_keepalive_probes 3 " -np 2 train
expect_line "oversubscribed ranks are not bound" "$root --bind-to none -x " -np 4 --oversubscribe train
OMPI_MCA_rmaps_base_oversubscribe=1 expect_line "nor with oversubscription set in the environment" "--bind-to none" -np 4 train
expect_count "an explicit --bind-to replaces the default binding" "--bind-to" 1 -np 2 --bind-to socket train
expect_count "an explicit --map-by too" "--map-by" 1 -np 2 --map-by node train
expect_count "an MCA parameter given by the user is not given twice (mpirun would refuse)" \
  "oob_tcp_keepalive_time" 1 --mca oob_tcp_keepalive_time 2 -np 2 train
expect_line "the user's value is kept" "--mca oob_tcp_keepalive_time 2 " --mca oob_tcp_keepalive_time 2 -np 2 train
expect_line "options after the program are the program's" \
  " -np 2 train --hosts x --threads 9 --net y\$" -np 2 train --hosts x --threads 9 --net y
expect_count "... and do not change mpirun's" "--host " 0 -np 2 train --hosts x
expect_line "mpirun options with a value pass through, and the program is found after them" \
  " -np 2 -x FOO=1 --hostfile h.txt train -x\$" -np 2 -x FOO=1 --hostfile h.txt train -x
expect_line "arguments with spaces are quoted" " train a\\\\ b\$" -np 2 train "a b"

# It runs exactly the line it prints (MPIRUN=echo: nothing is launched).
both=$(MPIRUN=echo "$lamina_run" -np 2 --hosts a:1,b:1 train "x y" 2>&1)
printed=$(head -1 <<<"$both")
ran=$(tail -1 <<<"$both")
if [[ $printed == "lamina-run: echo ${ran/x y/x\\ y}" ]]; then echo "ok: it runs the line it prints"; else
  echo "FAIL: printed '$printed' but ran '$ran'"
  failures=$((failures + 1))
fi
# Errors.
for bad in "-np 2" "--threads 0 -np 2 train" "--threads x train"; do
  # shellcheck disable=SC2086
  if message=$("$lamina_run" $bad 2>&1); then
    echo "FAIL: lamina-run $bad succeeded"
    failures=$((failures + 1))
  else
    echo "ok: lamina-run $bad fails: $message"
  fi
done

((failures == 0)) && echo "lamina_run_test.sh: all passed" || echo "lamina_run_test.sh: $failures failed"
exit $((failures > 0))
