// The strain commands, one file each. Each declares its subcommand and flags on the app and,
// when it is the one chosen, runs it and returns the process exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace strain {

// Set by a command's add_* when the command is declared; called after parsing if it was chosen.
using CommandAction = std::function<int()>;

CLI::App* add_run_command(CLI::App& app, CommandAction& action);
CLI::App* add_demo_command(CLI::App& app, CommandAction& action);
CLI::App* add_soak_command(CLI::App& app, CommandAction& action);
CLI::App* add_stress_command(CLI::App& app, CommandAction& action);
CLI::App* add_report_command(CLI::App& app, CommandAction& action);
CLI::App* add_compare_command(CLI::App& app, CommandAction& action);
CLI::App* add_merge_command(CLI::App& app, CommandAction& action);
CLI::App* add_completion_command(CLI::App& app, CommandAction& action);

}  // namespace strain
