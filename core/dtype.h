#pragma once
// Element types a tensor can hold, and the one switch that turns a runtime DType into a C++ type.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace lamina {

enum class DType : std::uint8_t { Float32, Float64, Int64 };

inline std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
  }
  return "?";
}

inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::Int64; }

// Calls fn.template operator()<T>() with T the C++ type of `t`: `dispatch(t, [&]<typename T>() { ... })`.
template <typename Fn> decltype(auto) dispatch(DType t, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn.template operator()<float>();
    case DType::Float64: return fn.template operator()<double>();
    case DType::Int64: return fn.template operator()<std::int64_t>();
  }
  throw std::logic_error("dispatch: unknown dtype");
}

// The same for the floating types only; `op` names the caller in the error for an integer tensor.
template <typename Fn> decltype(auto) dispatch_floating(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn.template operator()<float>();
    case DType::Float64: return fn.template operator()<double>();
    default: break;
  }
  throw std::invalid_argument(std::string(op) + ": expected a floating-point tensor, got " + dtype_name(t));
}

}  // namespace lamina
