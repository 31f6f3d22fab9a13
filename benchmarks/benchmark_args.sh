# Sourced by the benchmark scripts (allreduce.sh, scaling.sh): parses [--quick|--full] [--out DIR] [--build DIR]
# [--priority] into $mode, $out (default BUILD/benchmark-results, created) and $build, and sets the environment
# every run shares: one thread, OPENBLAS_CORETYPE (Haswell unless set), mpirun as root, default malloc settings.
# --priority (root) re-runs the script in a session of its own at nice -20, its scheduler autogroup too: on a
# machine shared with other jobs (each session is an autogroup with an equal share of the CPU, whatever the nice
# value of its processes) both sides of every comparison then run nearly as on an idle machine.
mode=full out="" build=build priority=0
arguments=("$@")
while (($#)); do
  case $1 in
    --quick) mode=quick ;; --full) mode=full ;; --priority) priority=1 ;;
    --out) out=$2; shift ;; --build) build=$2; shift ;;
    *) sed -n '2,/^set /p' "$0" | grep '^#'; exit 2 ;;
  esac
  shift
done
if ((priority)) && [[ -z ${LAMINA_BENCHMARK_PRIORITY:-} ]]; then
  export LAMINA_BENCHMARK_PRIORITY=1
  exec setsid bash -c 'echo -20 >/proc/$$/autogroup && exec nice -n -20 "$@"' bash "$0" "${arguments[@]}" </dev/null
fi
out=${out:-$build/benchmark-results}
mkdir -p "$out"
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell} OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset GLIBC_TUNABLES
