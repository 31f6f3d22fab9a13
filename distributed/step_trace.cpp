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

std::string StepTrace::events(int rank) const {
  std::string out;
  char line[256];
  const auto add = [&](const std::string& name, int tid, double ts, const char* kind, double dur) {
    if (kind[0] == 'X')
      std::snprintf(line, sizeof line, "{\"name\": \"%s\", \"ph\": \"X\", \"pid\": %d, \"tid\": %d, \"ts\": %.1f, \"dur\": %.1f}",
                    name.c_str(), rank, tid, ts, dur);
    else
      std::snprintf(line, sizeof line, "{\"name\": \"%s\", \"ph\": \"i\", \"s\": \"t\", \"pid\": %d, \"tid\": %d, \"ts\": %.1f}",
                    name.c_str(), rank, tid, ts);
    out += out.empty() ? "" : ",\n";
    out += line;
  };
  for (const Step& step : steps_) {
    add("forward + backward", 0, step.start_us, "X", step.backward_end_us);
    double last_done = step.backward_end_us;
    for (std::size_t b = 0; b < step.buckets.size(); ++b) {
      const BucketTiming& t = step.buckets[b];
      const std::string bucket = "bucket " + std::to_string(b);
      const int tid = 1 + static_cast<int>(b);
      add(bucket + " ready", tid, step.start_us + t.ready_us, "i", 0);
      add(bucket + " all-reduce", tid, step.start_us + t.launched_us, "X", t.done_us - t.launched_us);
      last_done = std::max(last_done, t.done_us);
    }
    add("all-reduce wait", 0, step.start_us + step.backward_end_us, "X", last_done - step.backward_end_us);
  }
  return out;
}

std::string StepTrace::json(int rank) const { return trace_document({events(rank)}); }

std::string trace_document(const std::vector<std::string>& events) {
  std::string out = "{\"traceEvents\": [\n";
  bool first = true;
  for (const std::string& e : events) {
    if (e.empty()) continue;
    out += (first ? "" : ",\n") + e;
    first = false;
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
