// Progress of a long loop. On a terminal: one line redrawn in place with a bar, rate
// and ETA. Elsewhere (logs, CI): a plain line every `plain_every_s` seconds and at the end.
#pragma once
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace attune::engine {

class Progress {
 public:
  // `total` 0 means unknown: no percentage, bar or ETA.
  Progress(std::string label, int64_t total, std::ostream& out, bool tty, double plain_every_s = 30.0);
  // Ends an unfinished terminal line so that what is printed next starts on its own line.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` is the absolute position; `postfix` is shown last (e.g. "loss=0.123").
  void update(int64_t done, const std::string& postfix = "");
  // Prints the final line; an empty postfix keeps the last one.
  void finish(const std::string& postfix = "");
  // "01:25", or "1:02:03" past an hour; "--:--" when unknown (negative or not finite).
  static std::string format_duration(double seconds);
  // Seconds on any monotonic scale; for tests. Restarts the elapsed time.
  void set_clock(std::function<double()> now_seconds);

 private:
  std::string render_bar() const;
  std::string render_plain() const;
  std::string rate_text() const;
  double eta_seconds() const;
  void draw(bool final_line);

  std::string label_;
  int64_t total_;
  std::ostream& out_;
  bool tty_;
  double plain_every_s_;
  std::function<double()> now_;
  double start_time_ = 0;     // construction (or set_clock)
  double now_time_ = 0;       // latest update
  double last_draw_ = -1;     // when a line was last printed; -1 = never
  double sample_time_ = -1;   // the rate's last sample; -1 = no update yet
  int64_t sample_done_ = 0;
  int64_t done_ = 0;
  double rate_ = 0;           // items per second, smoothed; 0 = not yet known
  std::string postfix_;
  bool finished_ = false;
};

}  // namespace attune::engine
