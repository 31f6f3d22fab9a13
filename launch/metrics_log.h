#pragma once
// Metrics as JSON lines (one object per line), for plots and for comparing runs: {"event": "epoch", ...}.
#include <cstdio>
#include <initializer_list>
#include <string>
#include <utility>
#include <variant>

namespace lamina::launch {

class MetricsLog {
 public:
  using Value = std::variant<double, long long, std::string>;
  // An empty path writes nothing. An unwritable path is an error naming it.
  explicit MetricsLog(const std::string& path);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void write(std::initializer_list<std::pair<const char*, Value>> fields);

 private:
  std::FILE* file_ = nullptr;
};

}  // namespace lamina::launch
