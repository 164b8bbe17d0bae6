#include "tests/catch.h"

#include "tasks/engine/progress.h"

#include <sstream>

// Unity builds share one translation unit between test files: a named namespace keeps
// this file's helpers from colliding with theirs.
namespace attune::progress_test {

using attune::engine::Progress;

namespace {

// A clock the test moves by hand.
struct FakeClock {
  double now = 100.0;
  std::function<double()> source() {
    return [this] { return now; };
  }
};

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("format_duration writes minutes and hours", "[progress]") {
  CHECK(Progress::format_duration(0) == "00:00");
  CHECK(Progress::format_duration(85) == "01:25");
  CHECK(Progress::format_duration(59.6) == "01:00");
  CHECK(Progress::format_duration(3599) == "59:59");
  CHECK(Progress::format_duration(3723) == "1:02:03");
  CHECK(Progress::format_duration(100 * 3600) == "100:00:00");
  CHECK(Progress::format_duration(-1) == "--:--");
  CHECK(Progress::format_duration(std::numeric_limits<double>::infinity()) == "--:--");
}

TEST_CASE("terminal progress redraws one line with bar, rate and ETA", "[progress]") {
  std::ostringstream out;
  FakeClock clock;
  Progress progress("train", 1000, out, /*tty=*/true);
  progress.set_clock(clock.source());
  progress.update(0);
  // 10 items a second for 42 seconds: 420 done, 580 left, ETA 58 s.
  for (int second = 1; second <= 42; ++second) {
    clock.now += 1;
    progress.update(second * 10, "loss=0.123");
  }
  const std::string text = out.str();
  const std::string last = text.substr(text.rfind('\r') + 1);
  CHECK(last == "train  42% |############..................| 420/1000 [00:42<00:58, 10.0 it/s] loss=0.123\033[K");
  CHECK(text.find('\n') == std::string::npos);
  CHECK(count(text, "\r") == 43);

  // Updates closer than 0.1 s apart are not drawn.
  clock.now += 0.01;
  progress.update(421);
  CHECK(count(out.str(), "\r") == 43);

  clock.now += 5;
  progress.finish("loss=0.100");
  const std::string final_text = out.str();
  CHECK(final_text.back() == '\n');
  CHECK(final_text.find("421/1000 [00:47<", final_text.rfind('\r')) != std::string::npos);
  CHECK(final_text.find("loss=0.100\033[K\n", final_text.rfind('\r')) != std::string::npos);
}

TEST_CASE("rate is smoothed, and ETA follows it", "[progress]") {
  std::ostringstream out;
  FakeClock clock;
  Progress progress("eval", 200, out, /*tty=*/true);
  progress.set_clock(clock.source());
  progress.update(0);
  clock.now += 1;
  progress.update(10);  // first sample: 10 it/s
  clock.now += 1;
  progress.update(40);  // 30 it/s, smoothed: 0.3 * 30 + 0.7 * 10 = 16 it/s
  std::string text = out.str();
  CHECK(text.find("40/200 [00:02<00:10, 16.0 it/s]") != std::string::npos);  // 160 left at 16 it/s

  clock.now += 4;
  progress.update(41);  // 0.25 it/s: 0.3 * 0.25 + 0.7 * 16 = 11.275 it/s
  text = out.str();
  CHECK(text.find("41/200 [00:06<00:14, 11.3 it/s]") != std::string::npos);  // 159 / 11.275 = 14.1 s
}

TEST_CASE("plain progress prints a line only every interval and at the end", "[progress]") {
  std::ostringstream out;
  FakeClock clock;
  Progress progress("train", 1000, out, /*tty=*/false, /*plain_every_s=*/30.0);
  progress.set_clock(clock.source());
  progress.update(0);
  for (int second = 1; second <= 65; ++second) {
    clock.now += 1;
    progress.update(second * 10, "loss=0.5");
  }
  const std::string text = out.str();
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("\033") == std::string::npos);
  CHECK(text == "train 300/1000 (30%) 10.0 it/s eta 01:10 loss=0.5\n"
                "train 600/1000 (60%) 10.0 it/s eta 00:40 loss=0.5\n");
  progress.finish();
  CHECK(out.str().substr(text.size()) == "train 650/1000 (65%) 10.0 it/s eta 00:35 loss=0.5\n");
  progress.finish();  // only once
  CHECK(count(out.str(), "\n") == 3);
}

TEST_CASE("unknown total shows position and rate without percentage or ETA", "[progress]") {
  std::ostringstream tty_out, plain_out;
  FakeClock clock;
  Progress tty("read", 0, tty_out, true);
  Progress plain("read", 0, plain_out, false, 1.0);
  tty.set_clock(clock.source());
  plain.set_clock(clock.source());
  tty.update(0);
  plain.update(0);
  clock.now += 2;
  tty.update(50);
  plain.update(50);
  tty.finish();
  plain.finish();
  CHECK(tty_out.str().substr(tty_out.str().rfind('\r')) == "\rread 50 [00:02, 25.0 it/s]\033[K\n");
  CHECK(plain_out.str() == "read 50 25.0 it/s\nread 50 25.0 it/s\n");
}

TEST_CASE("slow loops show seconds per item and unknown ETA before any rate", "[progress]") {
  std::ostringstream out;
  FakeClock clock;
  Progress progress("epoch", 10, out, false, 0.0);
  progress.set_clock(clock.source());
  progress.update(0);
  CHECK(out.str() == "epoch 0/10 (0%) ? it/s eta --:--\n");
  clock.now += 4;
  progress.update(1);
  CHECK(out.str().substr(out.str().find('\n') + 1) == "epoch 1/10 (10%) 4.0 s/it eta 00:36\n");
}

TEST_CASE("an unfinished terminal line is ended when the progress goes away", "[progress]") {
  std::ostringstream out;
  {
    Progress progress("x", 5, out, true);
    progress.update(1);
  }
  CHECK(out.str().back() == '\n');
  std::ostringstream plain;
  { Progress progress("x", 5, plain, false); }
  CHECK(plain.str().empty());
}

}  // namespace attune::progress_test
