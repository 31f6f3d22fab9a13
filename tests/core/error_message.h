#pragma once
// Checking what an error says: the op and the shapes, dtypes or values involved.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

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

}  // namespace lamina::testing
