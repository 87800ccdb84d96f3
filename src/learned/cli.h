#pragma once
// `switchyard train | route | eval`: the offline learned-routing commands.
// main() hands these subcommands over before its own option parsing.
#include <iosfwd>
#include <string>
#include <vector>

namespace switchyard::learned {

// True for the subcommands handled here.
bool is_learned_command(const std::string& command);

// argv[1] is the subcommand. Returns the process exit code.
int run_learned_cli(int argc, char** argv);

// Same, with explicit arguments (args[0] = subcommand) and streams; for tests.
int run_learned_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Usage text of the three commands, appended to switchyard's usage.
extern const char* const kLearnedUsage;

}  // namespace switchyard::learned
