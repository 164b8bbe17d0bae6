// The `attune` subcommands. Each takes its own arguments (argv[0] = command name)
// and returns the process exit status; user errors are thrown as attune::UserError.
#pragma once
#include <string>
#include <vector>

namespace attune::cli {

using Args = std::vector<std::string>;

int train_command(const Args& args);
int pretrain_command(const Args& args);
int models_command(const Args& args);
int eval_command(const Args& args);
int predict_command(const Args& args);
int translate_command(const Args& args);
int recommend_command(const Args& args);
int explain_command(const Args& args);
int config_command(const Args& args);
int tokenize_command(const Args& args);
int merge_command(const Args& args);
int convert_command(const Args& args);
int export_command(const Args& args);
int bench_command(const Args& args);
int report_command(const Args& args);
int serve_command(const Args& args);  // only with cpp-httplib (ATTUNE_HAS_SERVE)

// Removes every "--set k=v" / "--set=k=v" from args and returns the overrides, so
// values may contain commas (cxxopts would split a vector option on them).
std::vector<std::string> take_overrides(Args& args);

}  // namespace attune::cli
