#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace lamina::launch {

ProgressBar::ProgressBar(int epoch, int epochs, std::int64_t steps, std::int64_t samples_per_step, bool enabled)
    : epoch_(epoch),
      epochs_(epochs),
      steps_(steps),
      samples_per_step_(samples_per_step),
      enabled_(enabled),
      terminal_(isatty(STDOUT_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

std::string ProgressBar::render(std::int64_t done) const {
  constexpr int kWidth = 30;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done * samples_per_step_) / elapsed : 0;
  const double eta = done > 0 ? elapsed * static_cast<double>(steps_ - done) / static_cast<double>(done) : 0;
  const int filled = steps_ ? static_cast<int>(kWidth * done / steps_) : kWidth;
  char line[256];
  std::snprintf(line, sizeof line, "epoch %d/%d [%s%s] %lld/%lld loss %.4f %.0f samples/s ETA %.0fs", epoch_, epochs_,
                std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(), static_cast<long long>(done),
                static_cast<long long>(steps_), loss_average_, rate, eta);
  return line;
}

void ProgressBar::update(std::int64_t step, double loss) {
  if (!enabled_) return;
  // An exponential average keeps the shown loss readable; the first step seeds it.
  loss_average_ = step == 0 ? loss : 0.9 * loss_average_ + 0.1 * loss;
  const std::int64_t done = step + 1;
  if (terminal_) {
    const auto now = std::chrono::steady_clock::now();
    if (done != steps_ && now - last_redraw_ < std::chrono::milliseconds(250)) return;
    last_redraw_ = now;
    std::printf("\r%s", render(done).c_str());
    std::fflush(stdout);
    return;
  }
  const std::int64_t tenth = steps_ ? 10 * done / steps_ : 10;
  if (tenth > last_printed_tenth_ && (tenth % 2 == 0 || done == steps_)) {
    last_printed_tenth_ = tenth;
    std::printf("%s\n", render(done).c_str());
    std::fflush(stdout);
  }
}

void ProgressBar::finish() {
  if (enabled_ && terminal_) std::printf("\n");
}

}  // namespace lamina::launch
