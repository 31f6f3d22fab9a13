#pragma once
// One knob for the threads of both lamina's OpenMP loops and OpenBLAS. Two pools each sized to the core count
// fight over the cores (measured here: 3.5x slower for an MLP step), so lamina sets both to the same count and
// links the OpenMP build of OpenBLAS where Debian has it, so that there is one pool.
#include <cstdint>

namespace lamina {

void set_num_threads(int n);
int num_threads();

// Loops shorter than this many elements run on one thread: below it, waking the pool costs more than it saves.
constexpr std::int64_t kParallelGrain = 32768;

}  // namespace lamina
