#include <gtest/gtest.h>

#include <lamina/lamina.h>

// OpenBLAS's own report of how it was built (0 sequential, 1 pthreads, 2 OpenMP) and how many threads it uses.
extern "C" int openblas_get_parallel(void);
extern "C" int openblas_get_num_threads(void);

using namespace lamina;

// The OpenMP build of OpenBLAS must be the one loaded, so that BLAS and lamina's loops share one thread pool.
// This fails if the pthread build (Debian's update-alternatives default) was picked up instead.
TEST(Parallel, OpenBlasRunsOnOpenMp) { EXPECT_EQ(openblas_get_parallel(), 2); }

TEST(Parallel, OneKnobSetsBothPools) {
  const int before = num_threads();
  set_num_threads(1);
  EXPECT_EQ(num_threads(), 1);
  EXPECT_EQ(openblas_get_num_threads(), 1);
  set_num_threads(2);
  EXPECT_EQ(num_threads(), 2);
  EXPECT_EQ(openblas_get_num_threads(), 2);
  set_num_threads(before);
}

TEST(Parallel, RejectsZeroThreads) {
  try {
    set_num_threads(0);
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("set_num_threads"), std::string::npos) << e.what();
  }
}
