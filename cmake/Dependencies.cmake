# Every third-party library lamina uses, found once here. All are Debian packages (see setup.sh).
find_package(OpenMP REQUIRED COMPONENTS CXX)
# OpenBLAS threaded with OpenMP (Debian's libopenblas-openmp-dev), so that BLAS calls run on the same thread pool
# as lamina's own loops. Debian installs it beside the pthread build, and the generic libopenblas.so.0 is whichever
# one update-alternatives prefers (pthread, when both are installed). So we link the OpenMP build from its own
# folder: CMake then records that folder in the binaries' RUNPATH and the loader takes it from there.
set(LAMINA_OPENBLAS_DIR /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp)
find_library(OPENBLAS_LIBRARY openblas HINTS ${LAMINA_OPENBLAS_DIR} REQUIRED)
find_path(CBLAS_INCLUDE_DIR cblas.h HINTS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp
          PATH_SUFFIXES openblas REQUIRED)
find_package(ZLIB REQUIRED)
find_package(MPI REQUIRED COMPONENTS C CXX)
find_package(Boost REQUIRED COMPONENTS serialization)
find_package(Threads REQUIRED)

# CUDA is optional: when nvcc exists the kernels are compiled and linked for sm_80 and sm_90.
set(LAMINA_HAVE_CUDA OFF)
if(LAMINA_CUDA)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(LAMINA_CUDA_ARCHITECTURES "80;90" CACHE STRING "GPU architectures the CUDA kernels are compiled for")
    set(CMAKE_CUDA_ARCHITECTURES ${LAMINA_CUDA_ARCHITECTURES})
    # CMake 3.25.1 does not know nvcc's C++20 flag; tell it.
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA_STANDARD 20)
    find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
    find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
    if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
      add_library(lamina_nccl_imported UNKNOWN IMPORTED)
      set_target_properties(lamina_nccl_imported PROPERTIES
        IMPORTED_LOCATION ${NCCL_LIBRARY} INTERFACE_INCLUDE_DIRECTORIES ${NCCL_INCLUDE_DIR})
    endif()
    set(LAMINA_HAVE_CUDA ON)
  endif()
endif()
message(STATUS "lamina: CUDA kernels ${LAMINA_HAVE_CUDA}")

# XXH3 (Debian's libxxhash-dev): checksums of checkpoints and fingerprints of replicas, at memory speed.
find_path(XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
find_library(XXHASH_LIBRARY xxhash REQUIRED)
