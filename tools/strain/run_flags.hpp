// The load flags shared by every command that runs a load (run, demo; later soak, stress).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "engine/runtime/planning.hpp"

namespace strain {

// What every load command prints and writes besides the run itself.
struct OutputFlags {
  std::string out;     // --out: the full result as JSON
  bool quiet = false;  // --quiet: no live progress
};

// Declares the load flags on `cmd`, writing into `request` and `output`. `scriptable`: the
// command takes a Lua script too (positional) with -e and -i.
void add_load_flags(CLI::App& cmd, RunRequest& request, OutputFlags& output, bool scriptable);
// After parsing: records which flags were given (a default and a given value mean different
// things to a script's options).
// --transport, --http2, TLS, proxy, redirect and --resolve flags into `request`.
void add_transport_flags(CLI::App& cmd, RunRequest& request);

void note_given_flags(const CLI::App& cmd, RunRequest& request);

}  // namespace strain
