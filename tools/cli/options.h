// Small wrapper over cxxopts shared by the subcommands: parsing from a vector,
// rejecting stray positional arguments, and --help.
#pragma once
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace attune::cli {

// Parses `args` (args[0] = command). Returns false after printing help when asked.
bool parse_or_help(cxxopts::Options& options, const std::vector<std::string>& args, cxxopts::ParseResult& result);

// std::cin for "-", else `file` opened on `name` (fails naming it).
std::istream& open_input(const std::string& name, std::ifstream& file);

// The --config file as a JSON object ({} when not given); `source` becomes the file's
// name, or "--set" without one, for error messages.
nlohmann::json read_config_option(const cxxopts::ParseResult& parsed, std::string& source);

// Runs write() on stdout when path is "" or "-"; otherwise into `path`, which appears
// whole (atomically) when write() returns, and not at all when it fails.
void write_output(const std::string& path, const std::function<void(std::ostream&)>& write);

// How long a data-parallel rendezvous and collective wait for a peer: --dist-timeout when
// the command has it, else ATTUNE_DIST_TIMEOUT, else 300 s.
std::chrono::milliseconds dist_timeout(const cxxopts::ParseResult& parsed);

}  // namespace attune::cli
