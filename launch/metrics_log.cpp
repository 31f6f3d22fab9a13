#include "metrics_log.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace lamina::launch {

MetricsLog::MetricsLog(const std::string& path) {
  if (path.empty()) return;
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) throw std::runtime_error("cannot write metrics to '" + path + "': " + std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::write(std::initializer_list<std::pair<const char*, Value>> fields) {
  if (!file_) return;
  std::string line = "{";
  for (const auto& [key, value] : fields) {
    if (line.size() > 1) line += ", ";
    line.append("\"").append(key).append("\": ");
    if (const double* d = std::get_if<double>(&value)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.9g", *d);
      line += buf;
    } else if (const long long* i = std::get_if<long long>(&value)) {
      line += std::to_string(*i);
    } else {
      line += '"';
      for (const char ch : std::get<std::string>(value)) {
        if (ch == '"' || ch == '\\') line += '\\';
        if (static_cast<unsigned char>(ch) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", ch);
          line += escaped;
        } else {
          line += ch;
        }
      }
      line += '"';
    }
  }
  line += "}\n";
  std::fputs(line.c_str(), file_);
  std::fflush(file_);
}

}  // namespace lamina::launch
