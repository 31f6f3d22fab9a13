#pragma once
// Assertions shared by the test suites: what an error says (the op and the shapes, dtypes or values involved),
// and values compared element by element.
#include <gtest/gtest.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

#include <lamina/core/tensor.h>

namespace lamina::testing {

// Runs `fn`, which must throw E, and returns the exception's message.
template <typename E, typename Fn> std::string message_of(Fn fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

inline void expect_contains(const std::string& text, std::initializer_list<const char*> parts) {
  for (const char* part : parts) EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in: " << text;
}

// The default tolerance is float64 rounding.
inline void expect_near(const std::vector<double>& actual, const std::vector<double>& expected, double tol = 1e-12) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tol) << "at element " << i;
}

inline void expect_near(const Tensor& t, const std::vector<double>& expected, double tol) {
  expect_near(t.to_vector<double>(), expected, tol);
}

}  // namespace lamina::testing
