// strain completion bash: prints a bash completion script made from the command line itself
// (every command and flag as declared), so it cannot fall behind the flags. The package installs
// its output; `source <(strain completion bash)` works from a build tree.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tools/strain/commands.hpp"

namespace strain {
namespace {

// The long and short names of `app`'s flags, "--help" included, and those of its option groups
// (CLI11 keeps a group's options in an unnamed child App).
void collect_flags(const CLI::App& app, std::string& words) {
  for (const CLI::Option* o : app.get_options()) {
    for (const std::string& l : o->get_lnames())
      words += " --" + l;
    for (const std::string& s : o->get_snames())
      words += " -" + s;
  }
  for (const CLI::App* group : app.get_subcommands({}))
    if (group->get_name().empty()) collect_flags(*group, words);
}

std::string flag_words(const CLI::App& app) {
  std::string words;
  collect_flags(app, words);
  return words.empty() ? words : words.substr(1);
}

std::string bash_script(const CLI::App& root) {
  std::string commands;
  std::string cases;
  for (const CLI::App* sub : root.get_subcommands({})) {
    // Option groups have no name; a hidden command (this one) has no group.
    if (sub->get_name().empty() || sub->get_group().empty()) continue;
    commands += (commands.empty() ? "" : " ") + sub->get_name();
    cases += "    " + sub->get_name() + ") flags=\"" + flag_words(*sub) + "\" ;;\n";
  }
  return "# bash completion for strain (made by `strain completion bash`)\n"
         "_strain() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} flags\n"
         "  if [[ $COMP_CWORD -eq 1 ]]; then\n"
         "    COMPREPLY=($(compgen -W \"" +
         commands + " " + flag_words(root) +
         "\" -- \"$cur\"))\n"
         "    return\n"
         "  fi\n"
         "  case ${COMP_WORDS[1]} in\n" +
         cases +
         "    *) flags=\"\" ;;\n"
         "  esac\n"
         "  if [[ $cur == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
         "  else\n"
         "    COMPREPLY=($(compgen -f -- \"$cur\"))  # scripts, results, data files\n"
         "  fi\n"
         "}\n"
         "complete -o filenames -F _strain strain\n";
}

}  // namespace

CLI::App* add_completion_command(CLI::App& app, CommandAction& action) {
  CLI::App* cmd = app.add_subcommand("completion", "Print a shell completion script (bash)");
  cmd->group("");  // kept out of --help and out of its own completions
  auto shell = std::make_shared<std::string>();
  cmd->add_option("shell", *shell, "The shell: bash")->required()->check(CLI::IsMember({"bash"}));
  action = [&app, shell] {
    std::fputs(bash_script(app).c_str(), stdout);
    return 0;
  };
  return cmd;
}

}  // namespace strain
