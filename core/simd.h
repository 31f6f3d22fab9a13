#pragma once
// 64-byte vectors for the few CPU kernels that need more than the compiler's auto-vectorization (register tiles,
// shifted loads), and the attribute that builds such a kernel for several instruction sets. Internal to core.
//
// LAMINA_CPU_CLONES compiles a function three times — AVX-512 (x86-64-v4), AVX2 + FMA (x86-64-v3) and the
// baseline — and the loader picks the best one the CPU has (GCC's target_clones), so one binary runs anywhere
// and uses the wide registers where they exist. A Vec<T> is one AVX-512 register; on the other targets GCC
// splits it into two or four. Helpers called from a cloned function are always_inline, so that they are
// compiled for the clone's instruction set rather than the baseline.
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LAMINA_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LAMINA_CPU_CLONES
#endif
#define LAMINA_INLINE inline __attribute__((always_inline))

namespace lamina::simd {

template <typename T> struct VecOf;
template <> struct VecOf<float> { typedef float type __attribute__((vector_size(64))); };
template <> struct VecOf<double> { typedef double type __attribute__((vector_size(64))); };
template <typename T> using Vec = typename VecOf<T>::type;
template <typename T> constexpr std::int64_t kLanes = 64 / sizeof(T);

// Passing a vector by value has a different calling convention on each target, and GCC warns about every such
// function and call in a file that includes this header; kernels pass vectors only to always-inlined helpers,
// so no such call is ever made. (Only the kernels' own sources include this header.)
#pragma GCC diagnostic ignored "-Wpsabi"
template <typename T> LAMINA_INLINE Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T> LAMINA_INLINE void store(T* p, const Vec<T>& v) { std::memcpy(p, &v, sizeof v); }

}  // namespace lamina::simd
