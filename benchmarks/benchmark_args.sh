# Sourced by the benchmark scripts (allreduce.sh, scaling.sh): parses [--quick|--full] [--out DIR] [--build DIR]
# into $mode, $out (default BUILD/benchmark-results, created) and $build, and sets the environment every run shares:
# one thread, OPENBLAS_CORETYPE (Haswell unless set), mpirun as root, default malloc settings.
mode=full out="" build=build
while (($#)); do
  case $1 in
    --quick) mode=quick ;; --full) mode=full ;;
    --out) out=$2; shift ;; --build) build=$2; shift ;;
    *) sed -n '2,/^set /p' "$0" | grep '^#'; exit 2 ;;
  esac
  shift
done
out=${out:-$build/benchmark-results}
mkdir -p "$out"
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell} OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset GLIBC_TUNABLES
