#include "tools/strain/console_view.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace strain {

namespace {

std::size_t terminal_width() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 100;
}

}  // namespace

ConsoleView::ConsoleView(bool tty, double every_s)
    : tty_(tty), every_s_(every_s > 0 ? every_s : 10.0), next_line_s_(every_s_) {
  if (tty_) thread_ = std::thread([this] { loop(); });
}

ConsoleView::~ConsoleView() {
  finish();
}

void ConsoleView::update(const LiveFigures& figures) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  figures_ = figures;
  have_figures_ = true;
  figures_at_ = std::chrono::steady_clock::now();
  if (tty_) {
    draw_locked();
    return;
  }
  // A log: a line each time the run passes a multiple of --progress-every, and the drain.
  if (figures.elapsed_s + 1e-6 >= next_line_s_ || figures.draining) {
    std::fprintf(stderr, "%s\n", render_live_line(figures).c_str());
    std::fflush(stderr);
    while (next_line_s_ <= figures.elapsed_s + 1e-6)
      next_line_s_ += every_s_;
  }
}

void ConsoleView::print_above(std::string_view line) {
  std::lock_guard lock(mutex_);
  erase_locked();
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  if (tty_ && !stopping_ && have_figures_) draw_locked();
  std::fflush(stderr);
}

void ConsoleView::finish() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    erase_locked();
    std::fflush(stderr);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ConsoleView::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(250));
    if (stopping_ || !have_figures_) continue;
    // The clock moves between intervals: elapsed and remaining time tick on their own.
    LiveFigures now = figures_;
    const double since_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - figures_at_).count();
    now.elapsed_s += std::min(since_s, 1.0);
    if (now.planned_s > 0 && !now.draining) now.elapsed_s = std::min(now.elapsed_s, now.planned_s);
    std::swap(now, figures_);
    draw_locked();
    std::swap(now, figures_);
  }
}

void ConsoleView::draw_locked() {
  if (!tty_) return;
  const std::vector<std::string> lines = render_live_view(figures_, terminal_width() - 1);
  std::string out;
  // Back to the view's first line, then every line rewritten and cleared to its end.
  if (drawn_lines_ > 1) out += "\033[" + std::to_string(drawn_lines_ - 1) + "A";
  out += '\r';
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += lines[i] + "\033[K";
    if (i + 1 < lines.size()) out += '\n';
  }
  // A view that lost a line (the mode line) clears the one below.
  if (drawn_lines_ > lines.size()) out += "\n\033[K\033[1A";
  std::fputs(out.c_str(), stderr);
  std::fflush(stderr);
  drawn_lines_ = lines.size();
}

void ConsoleView::erase_locked() {
  if (!tty_ || drawn_lines_ == 0) return;
  std::string out;
  if (drawn_lines_ > 1) out += "\033[" + std::to_string(drawn_lines_ - 1) + "A";
  out += "\r\033[J";  // clear from the view's first line to the end of the screen
  std::fputs(out.c_str(), stderr);
  drawn_lines_ = 0;
}

}  // namespace strain
