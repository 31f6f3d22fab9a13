#pragma once
// A stand-in CUDA device for testing, on the CPU, every code path ops take for CUDA tensors (the kernel table's
// entries, the devices of outputs and gradients, copies between devices, Module::to, the optimizers' tensor-op
// updates): Device::cuda(0)'s memory is host memory, and each entry of the kernel table computes what the CUDA
// kernel computes with the CPU ops and functors, on host views of that memory. The kernels themselves run only on a
// GPU (tests/cuda); the dropout entry draws with Philox::draw exactly as the CUDA kernel does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <variant>

#include <lamina/core/cpu_loops.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/core/gemm.h>
#include <lamina/core/unfold.h>
#include <lamina/lamina.h>

namespace lamina::testing {

struct HostMemoryBackend : DeviceBackend {
  void* allocate(std::size_t nbytes, int) override { return std::malloc(std::max<std::size_t>(nbytes, 1)); }
  void deallocate(void* p, std::size_t, int) override { std::free(p); }
  void copy(void* dst, Device, const void* src, Device, std::size_t nbytes) override { std::memcpy(dst, src, nbytes); }
  void* allocate_pinned(std::size_t nbytes) override { return std::malloc(std::max<std::size_t>(nbytes, 1)); }
  void deallocate_pinned(void* p) override { std::free(p); }
};

// The same view of the same memory, as a CPU tensor.
inline Tensor host_view(const Tensor& t) {
  if (!t.defined()) return t;
  const auto elements = static_cast<std::int64_t>(t.storage().nbytes() / dtype_size(t.dtype()));
  return from_blob(std::shared_ptr<void>(t.storage().data(), [](void*) {}), t.storage().data(), {elements}, t.dtype())
      .as_strided(t.shape(), t.strides(), t.offset());
}

inline CudaKernels host_kernels() {
  CudaKernels k;
  k.unary = [](const Tensor& x, const Tensor& out, const UnaryFunctor& f) {
    std::visit([&](const auto& fn) { dispatch(out.dtype(), [&]<typename T>() { cpu::map_unary<T>(host_view(x), host_view(out), fn); }); }, f);
  };
  k.binary = [](const Tensor& a, const Tensor& b, const Tensor& out, const BinaryFunctor& f) {
    std::visit([&](const auto& fn) {
      dispatch(out.dtype(), [&]<typename T>() { cpu::map_binary<T>(host_view(a), host_view(b), host_view(out), fn); });
    }, f);
  };
  k.copy = [](const Tensor& dst, const Tensor& src) { host_view(dst).copy_(host_view(src)); };
  k.fill = [](const Tensor& dst, double value) { host_view(dst).fill_(value); };
  k.sum = [](const Tensor& src, const Tensor& out, std::int64_t outer, std::int64_t reduce, std::int64_t inner) {
    host_view(out).copy_(sum(host_view(src).view({outer, reduce, inner}), {1}).reshape(out.shape()));
  };
  k.max = [](const Tensor& src, const Tensor& values, const Tensor& indices, std::int64_t rows, std::int64_t n) {
    const Tensor rows_view = host_view(src).view({rows, n});
    if (values.defined()) host_view(values).copy_(max(rows_view, 1).reshape(values.shape()));
    if (indices.defined()) host_view(indices).copy_(argmax(rows_view, 1).reshape(indices.shape()));
  };
  k.max_backward = [](const Tensor& g, const Tensor& indices, const Tensor& grad, std::int64_t outer, std::int64_t n,
                      std::int64_t inner) {
    const Tensor hg = host_view(g), hi = host_view(indices), hgrad = host_view(grad);
    dispatch(grad.dtype(), [&]<typename T>() {
      for (std::int64_t k = 0; k < outer * inner; ++k)
        hgrad.data<T>()[(k / inner * n + hi.data<std::int64_t>()[k]) * inner + k % inner] = hg.data<T>()[k];
    });
  };
  k.softmax = [](const Tensor& x, const Tensor& y, std::int64_t outer, std::int64_t n, std::int64_t inner, bool log) {
    const Tensor hx = host_view(x).view({outer, n, inner});
    host_view(y).copy_((log ? log_softmax(hx, 1) : softmax(hx, 1)).reshape(y.shape()));
  };
  k.softmax_backward = [](const Tensor& y, const Tensor& g, const Tensor& gx, std::int64_t outer, std::int64_t n,
                          std::int64_t inner, bool log) {
    const Tensor hy = host_view(y), hg = host_view(g), hgx = host_view(gx);
    dispatch(gx.dtype(), [&]<typename T>() {
      const T *py = hy.data<T>(), *pg = hg.data<T>();
      T* pgx = hgx.data<T>();
      for (std::int64_t row = 0; row < outer * inner; ++row) {
        const std::int64_t start = row / inner * n * inner + row % inner;
        double acc = 0;
        for (std::int64_t j = 0; j < n; ++j) acc += log ? pg[start + j * inner] : pg[start + j * inner] * py[start + j * inner];
        for (std::int64_t j = 0; j < n; ++j) {
          const std::int64_t i = start + j * inner;
          pgx[i] = log ? functors::LogSoftmaxBackward{}(py[i], pg[i], T(acc)) : functors::SoftmaxBackward{}(py[i], pg[i], T(acc));
        }
      }
    });
  };
  k.cross_entropy = [](const Tensor& logits, const Tensor& labels, const Tensor& probs, const Tensor& losses) {
    const Tensor hx = host_view(logits);
    host_view(probs).copy_(softmax(hx, 1));
    host_view(losses).copy_(cross_entropy(hx, host_view(labels), Reduction::None));
  };
  k.cross_entropy_backward = [](const Tensor& probs, const Tensor& labels, const Tensor& g, double g_scale, bool g_per_row,
                                const Tensor& grad) {
    const Tensor hp = host_view(probs), hl = host_view(labels), hg = host_view(g), hgrad = host_view(grad);
    const std::int64_t classes = probs.shape()[1];
    dispatch(grad.dtype(), [&]<typename T>() {
      for (std::int64_t k = 0; k < probs.numel(); ++k) {
        const std::int64_t i = k / classes;
        const T gi = (g_per_row ? hg.data<T>()[i] : hg.data<T>()[0]) * static_cast<T>(g_scale);
        hgrad.data<T>()[k] = functors::CrossEntropyBackward{}(hp.data<T>()[k], k % classes == hl.data<std::int64_t>()[i], gi);
      }
    });
  };
  k.gemm = [](const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta) {
    cpu::gemm(host_view(a), host_view(b), host_view(c), alpha, beta);
  };
  k.dropout = [](const Tensor& x, const Tensor& out, std::uint64_t seed, std::uint64_t first_counter, functors::Dropout mask) {
    const Tensor hx = host_view(x), hout = host_view(out);
    dispatch(out.dtype(), [&]<typename T>() {
      for (std::int64_t i = 0; i < out.numel(); ++i)
        hout.data<T>()[i] = mask(hx.data<T>()[i], Philox::draw(seed, first_counter, static_cast<std::uint64_t>(i)));
    });
  };
  k.im2col = [](const Tensor& xt, const Tensor& col, const kernels::ConvGeometry& g, std::int64_t batch, double pad) {
    cpu::im2col(host_view(xt), host_view(col), g, batch, pad);
  };
  k.col2im = [](const Tensor& col, const Tensor& xt, const kernels::ConvGeometry& g, std::int64_t batch) {
    cpu::col2im(host_view(col), host_view(xt), g, batch);
  };
  k.where = [](const Tensor& mask, const Tensor& a, const Tensor& b, const Tensor& out) {
    host_view(out).copy_(where(host_view(mask), host_view(a), host_view(b)));
  };
  k.index_select = [](const Tensor& x, const Tensor& index, const Tensor& out, std::int64_t n, std::int64_t inner) {
    cpu::index_select(host_view(x), host_view(index), host_view(out), n, inner);
  };
  k.index_select_backward = [](const Tensor& g, const Tensor& index, const Tensor& grad, std::int64_t n, std::int64_t inner) {
    cpu::index_select_backward(host_view(g), host_view(index), host_view(grad), n, inner);
  };
  k.gather = [](const Tensor& x, const Tensor& index, const Tensor& out, const kernels::GatherGeometry& geometry) {
    cpu::gather(host_view(x), host_view(index), host_view(out), geometry);
  };
  k.gather_backward = [](const Tensor& g, const Tensor& index, const Tensor& grad, const kernels::GatherGeometry& geometry) {
    cpu::gather_backward(host_view(g), host_view(index), host_view(grad), geometry);
  };
  // The element functions the CUDA kernels run (the CPU op scatters over window tables instead).
  k.adaptive_avg_pool2d = [](const Tensor& x, const Tensor& out, const kernels::AdaptivePoolGeometry& g) {
    const Tensor hx = host_view(x), hout = host_view(out);
    dispatch(out.dtype(), [&]<typename T>() {
      for (std::int64_t k = 0; k < out.numel(); ++k) hout.data<T>()[k] = kernels::adaptive_avg_pool_element(g, hx.data<T>(), k);
    });
  };
  k.adaptive_avg_pool2d_backward = [](const Tensor& g, const Tensor& grad, const kernels::AdaptivePoolGeometry& geometry) {
    const Tensor hg = host_view(g), hgrad = host_view(grad);
    dispatch(grad.dtype(), [&]<typename T>() {
      for (std::int64_t k = 0; k < grad.numel(); ++k)
        hgrad.data<T>()[k] = kernels::adaptive_avg_pool_backward_element(geometry, hg.data<T>(), k);
    });
  };
  return k;
}

// Registers the stand-in for the test's duration.
class HostDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    register_cuda_backend(&backend_);
    register_cuda_kernels(host_kernels());
  }
  void TearDown() override {
    register_cuda_kernels({});
    register_cuda_backend(nullptr);
  }
  static constexpr Device device = Device{Device::Type::CUDA, 0};
  static constexpr double training_rtol = 1e-4;

 private:
  HostMemoryBackend backend_;
};

}  // namespace lamina::testing
