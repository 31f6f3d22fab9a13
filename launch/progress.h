#pragma once
// The progress line rank 0 prints while an epoch trains: a bar, the running loss, throughput and ETA. On a
// terminal it redraws in place, at most a few times a second (mpirun hands ranks a pseudo-terminal even when its
// own output is a pipe, so the redraws must stay few); into a file it prints a line every fifth of the epoch.
#include <chrono>
#include <cstdint>
#include <string>

namespace lamina::launch {

class ProgressBar {
 public:
  ProgressBar(int epoch, int epochs, std::int64_t steps, std::int64_t samples_per_step, bool enabled);
  // After step `step` (0-based) with that step's loss.
  void update(std::int64_t step, double loss);
  // Ends the line.
  void finish();

 private:
  std::string render(std::int64_t done) const;

  int epoch_, epochs_;
  std::int64_t steps_, samples_per_step_;
  bool enabled_, terminal_;
  std::chrono::steady_clock::time_point start_;
  double loss_average_ = 0;
  std::int64_t last_printed_tenth_ = -1;
  std::chrono::steady_clock::time_point last_redraw_;
};

}  // namespace lamina::launch
