#include <gtest/gtest.h>

#include <lamina/core/cpu_loops.h>
#include <lamina/lamina.h>

using namespace lamina;

// Outputs of kStreamingBytes and more take the streaming-store path: check it element by element, including a
// partial last block, against the same math done in a plain loop.
template <typename T>
void check_streaming_paths() {
  const std::int64_t n = cpu::kStreamingBytes / static_cast<std::int64_t>(sizeof(T)) + 1000 + 3;
  const TensorOptions options{.dtype = dtype_of<T>()};
  const Tensor a = randn({n}, options), b = randn({n}, options);
  const std::vector<T> va = a.to_vector<T>(), vb = b.to_vector<T>();
  const std::vector<T> sum = add(a, b).to_vector<T>(), scaled = mul(a, 3.0).to_vector<T>(), rectified = relu(a).to_vector<T>();
  std::int64_t wrong = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    wrong += sum[i] != va[i] + vb[i];
    wrong += scaled[i] != va[i] * T(3);
    wrong += rectified[i] != (va[i] > 0 ? va[i] : T(0));
  }
  EXPECT_EQ(wrong, 0);
}

TEST(CpuLoops, StreamingStoresFloat) { check_streaming_paths<float>(); }
TEST(CpuLoops, StreamingStoresDouble) { check_streaming_paths<double>(); }

TEST(CpuLoops, StreamingStoresOnTwoThreads) {
  const int before = num_threads();
  set_num_threads(2);
  check_streaming_paths<float>();
  set_num_threads(before);
}
