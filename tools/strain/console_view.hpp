// The live view on stderr: on a terminal a few lines redrawn in place four times a second by
// a thread of its own; otherwise a plain line every --progress-every.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "reporters/live_view.hpp"

namespace strain {

class ConsoleView {
 public:
  // tty: redraw in place; otherwise one line per `every_s` of run time.
  ConsoleView(bool tty, double every_s);
  ~ConsoleView();
  ConsoleView(const ConsoleView&) = delete;
  ConsoleView& operator=(const ConsoleView&) = delete;

  // After every interval (the controller's thread).
  void update(const LiveFigures& figures);
  // A line printed above the view (notes, stress steps): the view is erased, then redrawn.
  void print_above(std::string_view line);
  // Erases the view and stops redrawing, so the summary follows on a clean screen.
  void finish();

 private:
  void loop();
  void draw_locked();
  void erase_locked();

  const bool tty_;
  const double every_s_;
  std::mutex mutex_;
  std::condition_variable wake_;
  LiveFigures figures_;
  bool have_figures_ = false;
  std::chrono::steady_clock::time_point figures_at_;
  std::size_t drawn_lines_ = 0;  // lines of the view now on the screen
  double next_line_s_ = 0;       // no terminal: the run time of the next plain line
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace strain
