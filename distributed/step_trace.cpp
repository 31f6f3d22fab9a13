#include <lamina/distributed/step_trace.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace lamina::distributed {

void StepTrace::record(const Reducer& reducer) {
  if (steps_.empty()) origin_ = reducer.last_step_start();
  const double start = std::chrono::duration<double, std::micro>(reducer.last_step_start() - origin_).count();
  steps_.push_back({start, reducer.last_backward_end_us(), reducer.last_timings()});
}

double StepTrace::hidden_fraction() const {
  double total = 0, hidden = 0;
  for (const Step& step : steps_) {
    for (const BucketTiming& b : step.buckets) {
      total += b.done_us - b.launched_us;
      hidden += std::max(0.0, std::min(b.done_us, step.backward_end_us) - b.launched_us);
    }
  }
  return total > 0 ? hidden / total : 0.0;
}

std::string StepTrace::json(int rank) const {
  std::string out = "{\"traceEvents\": [\n";
  bool first = true;
  char line[256];
  const auto event = [&](const char* name, int tid, double ts, double dur) {
    std::snprintf(line, sizeof line, "%s{\"name\": \"%s\", \"ph\": \"X\", \"pid\": %d, \"tid\": %d, \"ts\": %.1f, \"dur\": %.1f}",
                  first ? "" : ",\n", name, rank, tid, ts, dur);
    out += line;
    first = false;
  };
  for (const Step& step : steps_) {
    event("forward + backward", 0, step.start_us, step.backward_end_us);
    for (std::size_t b = 0; b < step.buckets.size(); ++b) {
      const BucketTiming& t = step.buckets[b];
      const std::string name = "bucket " + std::to_string(b) + " all-reduce";
      event(name.c_str(), 1 + static_cast<int>(b), step.start_us + t.launched_us, t.done_us - t.launched_us);
    }
  }
  return out + "\n]}\n";
}

void StepTrace::write(const std::string& path, int rank) const {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write the trace '" + path + "': " + std::strerror(errno));
  const std::string text = json(rank);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

}  // namespace lamina::distributed
