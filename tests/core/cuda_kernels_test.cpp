// How ops reach CUDA kernels, checked on the CPU: a stand-in "CUDA device" whose memory is host memory
// (host_device.h), with a kernel table that has only one entry.
#include <gtest/gtest.h>

#include <lamina/core/cuda_kernels.h>
#include <lamina/lamina.h>

#include "expect.h"
#include "host_device.h"

using namespace lamina;

namespace {

// Host memory standing in for device memory, counting its pinned buffers.
struct CountingBackend : lamina::testing::HostMemoryBackend {
  void* allocate_pinned(std::size_t nbytes) override {
    ++pinned;
    return HostMemoryBackend::allocate_pinned(nbytes);
  }
  int pinned = 0;
};

int g_unary_calls = 0;

class FakeCudaDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    register_cuda_backend(&device_);
    CudaKernels k;
    k.unary = [](const Tensor& x, const Tensor& out, const UnaryFunctor& f) {
      ++g_unary_calls;
      lamina::testing::host_kernels().unary(x, out, f);
    };
    register_cuda_kernels(k);
  }
  void TearDown() override {
    register_cuda_kernels({});
    register_cuda_backend(nullptr);
  }
  CountingBackend device_;
};

}  // namespace

TEST_F(FakeCudaDevice, AnOpWithARegisteredKernelRunsItOnTheTensorsDevice) {
  const Tensor x = from_vector<float>({-1, 2, -3, 4}, {2, 2});
  const Tensor xd = x.to(Device::cuda(0));
  EXPECT_EQ(xd.device(), Device::cuda(0));
  g_unary_calls = 0;
  const Tensor y = relu(xd);
  EXPECT_EQ(g_unary_calls, 1);
  EXPECT_EQ(y.device(), Device::cuda(0));
  EXPECT_EQ(y.to(Device::cpu()).to_vector<float>(), (std::vector<float>{0, 2, 0, 4}));
  // The in-place scale goes through the same entry.
  Tensor z = x.to(Device::cuda(0));
  z.mul_(2.0);
  EXPECT_EQ(g_unary_calls, 2);
  EXPECT_EQ(z.to_vector<float>(), (std::vector<float>{-2, 4, -6, 8}));
}

TEST_F(FakeCudaDevice, AnOpWithoutAKernelNamesTheOpAndTheDevice) {
  const Tensor a = ones({2, 3}).to(Device::cuda(0));
  using lamina::testing::expect_contains;
  using lamina::testing::message_of;
  expect_contains(message_of<std::invalid_argument>([&] { add(a, a); }),
                  {"add: no CUDA kernel for cuda:0 tensors (float32 [2, 3] on cuda:0)"});
  expect_contains(message_of<std::invalid_argument>([&] { sum(a); }), {"sum: no CUDA kernel for cuda:0"});
  expect_contains(message_of<std::invalid_argument>([&] { matmul(a, a.t()); }), {"matmul: no CUDA kernel for cuda:0"});
  const Tensor images = ones({1, 1, 4, 4}).to(Device::cuda(0));
  expect_contains(message_of<std::invalid_argument>([&] { max_pool2d(images, 2); }), {"no CUDA kernel for cuda:0"});
}

TEST_F(FakeCudaDevice, PinnedHostMemoryComesFromTheBackend) {
  const Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}).t();
  const Tensor p = x.pin_memory();
  EXPECT_EQ(device_.pinned, 1);
  EXPECT_TRUE(p.is_pinned());
  EXPECT_FALSE(x.is_pinned());
  EXPECT_TRUE(p.is_contiguous());
  EXPECT_EQ(p.to_vector<float>(), x.to_vector<float>());
  EXPECT_TRUE(p.pin_memory().is_same(p));
}

TEST(CudaKernels, WithoutLaminaCudaACudaTensorIsAClearError) {
  lamina::testing::expect_contains(lamina::testing::message_of<std::runtime_error>([] { zeros({2}, {.device = Device::cuda(1)}); }),
                                   {"no CUDA backend for cuda:1", "lamina::cuda is not linked"});
  lamina::testing::expect_contains(lamina::testing::message_of<std::runtime_error>([] { ones({2}).pin_memory(); }),
                                   {"no CUDA backend"});
}

// The CUDA dropout kernel masks element i with Philox::draw(seed, first_counter, i); the CPU op takes four draws
// per counter at once. Both must be the same stream, so that a seed gives the same mask on either device.
TEST(CudaKernels, DropoutOnTheCpuMasksWithTheDrawsTheCudaKernelUses) {
  const double p = 0.3;
  const Tensor x = ones({1001});  // not a multiple of 4
  Generator gen(1234);
  gen.advance(5);  // an offset inside a counter: the mask starts at the next whole counter
  const std::uint64_t first_counter = (gen.state().offset + 3) / 4;
  const Tensor y = dropout(x, p, true, &gen);
  const std::vector<float> v = y.to_vector<float>();
  const functors::Dropout mask{static_cast<std::uint64_t>(std::ceil(p * 4294967296.0)), 1.0 / (1.0 - p)};
  int dropped = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(v[i], mask(1.0f, Philox::draw(1234, first_counter, i))) << "element " << i;
    dropped += v[i] == 0;
  }
  EXPECT_GT(dropped, 250);
  EXPECT_LT(dropped, 350);
}
