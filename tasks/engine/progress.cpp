#include "tasks/engine/progress.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace attune::engine {
namespace {

constexpr double kRedrawInterval = 0.1;  // a terminal line redraws at most ~10 times a second
// tqdm's smoothing: each new rate sample weighs 0.3 against the running average.
constexpr double kSmoothing = 0.3;
// Samples closer together than this are merged: instantaneous rates of very fast
// loops are mostly timer noise.
constexpr double kMinSampleInterval = 0.1;
constexpr int kBarWidth = 30;

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Progress::Progress(std::string label, int64_t total, std::ostream& out, bool tty, double plain_every_s)
    : label_(std::move(label)), total_(std::max<int64_t>(total, 0)), out_(out), tty_(tty),
      plain_every_s_(plain_every_s), now_(steady_seconds) {
  start_time_ = now_time_ = now_();
}

Progress::~Progress() {
  if (tty_ && !finished_ && last_draw_ >= 0) out_ << '\n' << std::flush;
}

void Progress::set_clock(std::function<double()> now_seconds) {
  now_ = std::move(now_seconds);
  start_time_ = now_time_ = now_();
}

std::string Progress::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto s = static_cast<long long>(std::llround(seconds));
  char buf[48];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%02lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

void Progress::update(int64_t done, const std::string& postfix) {
  const double now = now_();
  now_time_ = now;
  if (sample_time_ < 0 || done < sample_done_) {
    // The first update (or a position that went back) is the baseline: a resumed loop
    // measures its rate from where it resumed, not from zero.
    sample_time_ = now;
    sample_done_ = done;
  } else if (now - sample_time_ >= kMinSampleInterval && done > sample_done_) {
    const double instant = (done - sample_done_) / (now - sample_time_);
    rate_ = rate_ == 0 ? instant : kSmoothing * instant + (1 - kSmoothing) * rate_;
    sample_time_ = now;
    sample_done_ = done;
  }
  done_ = done;
  postfix_ = postfix;
  if (tty_) {
    if (last_draw_ < 0 || now - last_draw_ >= kRedrawInterval || (total_ > 0 && done >= total_)) draw(false);
  } else if (now - (last_draw_ < 0 ? start_time_ : last_draw_) >= plain_every_s_) {
    draw(false);
  }
}

void Progress::finish(const std::string& postfix) {
  if (finished_) return;
  finished_ = true;
  now_time_ = now_();
  if (!postfix.empty()) postfix_ = postfix;
  draw(true);
}

void Progress::draw(bool final_line) {
  if (tty_) {
    // \r returns to the line start; ESC[K clears what a longer previous line left behind.
    out_ << '\r' << render_bar() << "\033[K";
    if (final_line) out_ << '\n';
  } else {
    out_ << render_plain() << '\n';
  }
  out_ << std::flush;
  last_draw_ = now_time_;
}

double Progress::eta_seconds() const {
  if (total_ <= 0) return -1;
  if (done_ >= total_) return 0;
  return rate_ > 0 ? (total_ - done_) / rate_ : -1;
}

std::string Progress::rate_text() const {
  char buf[48];
  if (rate_ <= 0) return "? it/s";
  if (rate_ >= 1) {
    std::snprintf(buf, sizeof(buf), "%.1f it/s", rate_);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f s/it", 1.0 / rate_);
  }
  return buf;
}

// "label  42% |#########.........| 420/1000 [01:02<01:25, 6.7 it/s] loss=0.123"
std::string Progress::render_bar() const {
  const std::string elapsed = format_duration(now_time_ - start_time_);
  std::string line = label_;
  if (total_ > 0) {
    const double fraction = std::clamp(static_cast<double>(done_) / total_, 0.0, 1.0);
    const int filled = static_cast<int>(fraction * kBarWidth);
    char percent[16];
    std::snprintf(percent, sizeof(percent), " %3d%% |", static_cast<int>(fraction * 100));
    line += percent + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "| " +
            std::to_string(done_) + "/" + std::to_string(total_) + " [" + elapsed + "<" +
            format_duration(eta_seconds()) + ", " + rate_text() + "]";
  } else {
    line += " " + std::to_string(done_) + " [" + elapsed + ", " + rate_text() + "]";
  }
  if (!postfix_.empty()) line += " " + postfix_;
  return line;
}

// "label 420/1000 (42%) 6.7 it/s eta 01:25 loss=0.123"
std::string Progress::render_plain() const {
  std::string line = label_ + " " + std::to_string(done_);
  if (total_ > 0) {
    const double fraction = std::clamp(static_cast<double>(done_) / total_, 0.0, 1.0);
    line += "/" + std::to_string(total_) + " (" + std::to_string(static_cast<int>(fraction * 100)) + "%)";
  }
  line += " " + rate_text();
  if (total_ > 0) line += " eta " + format_duration(eta_seconds());
  if (!postfix_.empty()) line += " " + postfix_;
  return line;
}

}  // namespace attune::engine
