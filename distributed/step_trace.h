#pragma once
// StepTrace: a timeline of DistributedDataParallel's communication — for every recorded step, when each bucket's
// gradients were ready, when its all-reduce was launched and when it was done, and when backward ended — written
// as a Chrome trace (JSON) that chrome://tracing or Perfetto opens, plus the share of all-reduce time that was
// hidden behind backward.
//
// In the trace each rank is a process; its thread 0 shows each step's "forward + backward" and the "all-reduce
// wait" after it (backward's end to the last bucket's completion), thread 1 + b shows bucket b: an instant event
// when its gradients are all ready, and a span from the launch of its all-reduce to its completion.
#include <chrono>
#include <string>
#include <vector>

#include <lamina/distributed/reducer.h>

namespace lamina::distributed {

class StepTrace {
 public:
  // Appends the reducer's last step.
  void record(const Reducer& reducer);
  // Of all the time buckets spent between launch and done, the share that ended before backward did.
  double hidden_fraction() const;
  // {"traceEvents": [...]} with `rank` as the process id.
  std::string json(int rank) const;
  // The events alone, comma-separated, to merge several ranks' into one trace with trace_document.
  std::string events(int rank) const;
  // Writes json(rank) to `path` (an error naming the path when it cannot).
  void write(const std::string& path, int rank) const;
  std::size_t steps() const { return steps_.size(); }

 private:
  struct Step {
    double start_us;  // since the first recorded step
    double backward_end_us;
    std::vector<BucketTiming> buckets;
  };
  std::vector<Step> steps_;
  std::chrono::steady_clock::time_point origin_;
};

// {"traceEvents": [...]} of several ranks' events() (empty strings are skipped).
std::string trace_document(const std::vector<std::string>& events);

}  // namespace lamina::distributed
