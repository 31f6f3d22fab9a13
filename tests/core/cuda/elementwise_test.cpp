// The CUDA elementwise kernels against the CPU ops (which run the same functors). Skipped without a usable GPU.
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <memory>
#include <vector>

#include <lamina/core/cuda/elementwise.h>
#include <lamina/lamina.h>

using namespace lamina;

namespace {

void check(cudaError_t err) { ASSERT_EQ(err, cudaSuccess) << cudaGetErrorString(err); }

// A device copy of a contiguous float tensor, freed on scope exit.
struct DeviceBuffer {
  explicit DeviceBuffer(std::int64_t n) : n(n) {
    void* p = nullptr;
    check(cudaMalloc(&p, n * sizeof(float)));
    ptr.reset(static_cast<float*>(p));
  }
  explicit DeviceBuffer(const Tensor& t) : DeviceBuffer(t.numel()) {
    check(cudaMemcpy(ptr.get(), t.contiguous().data<float>(), n * sizeof(float), cudaMemcpyHostToDevice));
  }
  std::vector<float> to_host() const {
    std::vector<float> host(n);
    check(cudaMemcpy(host.data(), ptr.get(), n * sizeof(float), cudaMemcpyDeviceToHost));
    return host;
  }
  std::int64_t n;
  std::unique_ptr<float, decltype([](float* p) { cudaFree(p); })> ptr;
};

class CudaElementwise : public ::testing::Test {
 protected:
  void SetUp() override {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0) {
      cudaGetLastError();  // clear the sticky error so later CUDA calls do not report it
      GTEST_SKIP() << "no usable CUDA device: " << (err != cudaSuccess ? cudaGetErrorString(err) : "none found");
    }
  }
};

}  // namespace

TEST_F(CudaElementwise, ReluMatchesCpu) {
  const Tensor x = randn({1000, 37});  // not a multiple of the block size
  DeviceBuffer dx(x), dy(x.numel());
  cuda::relu(dx.ptr.get(), dy.ptr.get(), x.numel());
  check(cudaDeviceSynchronize());
  EXPECT_EQ(dy.to_host(), relu(x).to_vector<float>());
}

TEST_F(CudaElementwise, AddMatchesCpuWithBroadcasting) {
  const Tensor a = randn({64, 1, 5}), b = randn({7, 1});
  const Tensor expected = add(a, b);  // [64, 7, 5]
  const Shape& shape = expected.shape();
  DeviceBuffer da(a), db(b), dy(expected.numel());
  cuda::add(da.ptr.get(), db.ptr.get(), dy.ptr.get(), expected.numel(),
            make_offset_calculator(shape, broadcast_strides(a, shape)),
            make_offset_calculator(shape, broadcast_strides(b, shape)));
  check(cudaDeviceSynchronize());
  EXPECT_EQ(dy.to_host(), expected.to_vector<float>());
}
