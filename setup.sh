#!/usr/bin/env bash
# Installs the Debian packages lamina needs (only the missing ones), then configures and builds.
#   ./setup.sh            build into build/
#   ./setup.sh test       build, then run the whole test suite
#   ./setup.sh sanitize   build into build-asan/ with AddressSanitizer + UBSan, then run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-build}

packages=(
  g++ cmake ninja-build ccache                                      # build
  googletest libgtest-dev libbenchmark-dev                          # tests, benchmarks
  zlib1g-dev libboost-serialization-dev libcli11-dev libxxhash-dev  # libraries
  libopenblas-openmp-dev                                            # BLAS on the same OpenMP pool as lamina
  openmpi-bin libopenmpi-dev                                        # distributed training
  iproute2                                                          # multi-host tests (network namespaces)
  dataset-fashion-mnist                                             # data
  python3-torch python3-numpy gnuplot-nox                           # reference numbers, plots
  clang libclang-rt-14-dev                                          # fuzzing
)
missing=()
for p in "${packages[@]}"; do
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup.sh: installing ${missing[*]}"
  sudo=$( ((EUID == 0)) || echo sudo)
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

# configure_and_build <build dir> [cmake options...]
configure_and_build() {
  local dir=$1; shift
  local options=(-G Ninja -DCMAKE_BUILD_TYPE=Release "$@")
  [[ -x /usr/local/cuda/bin/nvcc ]] && options+=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
  cmake -S . -B "$dir" --log-level=WARNING "${options[@]}"
  cmake --build "$dir" -j "$(nproc)"
}

run_tests() { ctest --test-dir "$1" --output-on-failure -j "$(nproc)"; }

case $mode in
  build) configure_and_build build ;;
  test) configure_and_build build && run_tests build ;;
  sanitize) configure_and_build build-asan -DLAMINA_SANITIZE=ON -DLAMINA_BUILD_BENCHMARKS=OFF && run_tests build-asan ;;
  *) echo "usage: $0 [build|test|sanitize]" >&2; exit 2 ;;
esac
