#pragma once
// cuBLAS settings. This header names no CUDA type.
namespace lamina::cuda {

// TF32 tensor cores for float32 GEMMs (Ampere and later): about 8x the float32 rate with a 10-bit mantissa in
// the products. Off by default, so that float32 results match the CPU's at float32 tolerance.
void set_allow_tf32(bool allow);

}  // namespace lamina::cuda
