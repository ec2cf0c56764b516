// strain: the command line. Each command lives in its own file (see commands.hpp); this one
// parses, picks the command, and maps start-up errors to exit codes.
#include <CLI/CLI.hpp>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstdio>
#include <exception>
#include <vector>

#include "engine/core/error.hpp"
#include "tools/strain/commands.hpp"
#include "tools/strain/version.hpp"

int main(int argc, char** argv) {
  using namespace strain;
#if defined(__GLIBC__)
  // Fixed allocator thresholds. glibc raises both after the first large block is freed, so every
  // later large temporary (a soak verdict's slope pairs, a histogram) comes from a heap it does
  // not give back: strain's own RSS then steps up for minutes of a soak, which strain judges
  // as its own leak. Fixed, a large block is mapped and unmapped, and the heap's free top goes
  // back past 256 KiB. (malloc_trim before each self reading did it too, but took seconds under
  // a stress run's heap and made the sampler's readings late.)
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 256 * 1024);
#endif
  // Named, so help and the man page say "strain", not the path it was started by.
  CLI::App app{"strain: load, stress and soak testing for HTTP services", "strain"};
  app.set_version_flag("--version", version_line());
  app.require_subcommand(1);
  struct Entry {
    CLI::App* command;
    CommandAction action;
  };
  std::vector<Entry> commands(8);
  commands[0].command = add_run_command(app, commands[0].action);
  commands[1].command = add_demo_command(app, commands[1].action);
  commands[2].command = add_soak_command(app, commands[2].action);
  commands[3].command = add_report_command(app, commands[3].action);
  commands[4].command = add_stress_command(app, commands[4].action);
  commands[5].command = add_compare_command(app, commands[5].action);
  commands[6].command = add_merge_command(app, commands[6].action);
  commands[7].command = add_completion_command(app, commands[7].action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // "strain frobnicate": CLI11 says only that a command is required; say which word it took.
    const auto known = [&app](const char* word) {
      for (const CLI::App* sub : app.get_subcommands({}))
        if (sub->get_name() == word) return true;
      return false;
    };
    if (argc > 1 && argv[1][0] != '-' && !known(argv[1])) {
      std::fprintf(stderr,
                   "strain: unknown command '%s' (commands: run, demo, soak, stress, report, "
                   "compare, merge)\nRun 'strain --help' for usage.\n",
                   argv[1]);
      return static_cast<int>(ExitCode::bad_usage);
    }
    std::fprintf(stderr, "strain: %s\nRun 'strain --help' for usage.\n", e.what());
    return static_cast<int>(ExitCode::bad_usage);
  }

  try {
    for (const Entry& e : commands) {
      if (e.command->parsed()) return e.action();
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "strain: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strain: internal error: %s\n", e.what());
    return static_cast<int>(ExitCode::run_failed);
  }
  return static_cast<int>(ExitCode::bad_usage);
}
