#include "tools/cli/options.h"

#include "core/error.h"
#include "core/files.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace attune::cli {

bool parse_or_help(cxxopts::Options& options, const std::vector<std::string>& args, cxxopts::ParseResult& result) {
  options.add_options()("h,help", "Show this help");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    result = options.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const cxxopts::exceptions::exception& e) {
    fail("attune " + args[0], std::string(e.what()) + " (see attune " + args[0] + " --help)");
  }
  if (result.count("help")) {
    std::cout << options.help() << std::endl;
    return false;
  }
  if (!result.unmatched().empty()) {
    fail("attune " + args[0], "unexpected argument '" + result.unmatched().front() + "' (see attune " + args[0] + " --help)");
  }
  return true;
}

std::istream& open_input(const std::string& name, std::ifstream& file) {
  if (name == "-") return std::cin;
  if (std::filesystem::is_directory(name)) fail(name, "is a directory");
  file.open(name);
  if (!file) fail(name, "cannot open file");
  return file;
}

nlohmann::json read_config_option(const cxxopts::ParseResult& parsed, std::string& source) {
  source = "--set";
  if (!parsed.count("config")) return nlohmann::json::object();
  source = parsed["config"].as<std::string>();
  nlohmann::json user = io::read_json(source);
  if (!user.is_object()) fail(source, "a config must be a JSON object");
  return user;
}

void write_output(const std::string& path, const std::function<void(std::ostream&)>& write) {
  if (path.empty() || path == "-") {
    write(std::cout);
    return;
  }
  std::ostringstream text;
  write(text);
  io::write_file_atomic(path, text.str());
}

std::chrono::milliseconds dist_timeout(const cxxopts::ParseResult& parsed) {
  double seconds = 300;
  std::string where = "--dist-timeout";
  if (parsed.count("dist-timeout") > 0) {
    seconds = parsed["dist-timeout"].as<double>();
  } else if (const char* env = std::getenv("ATTUNE_DIST_TIMEOUT")) {
    where = "ATTUNE_DIST_TIMEOUT";
    try {
      seconds = std::stod(env);
    } catch (const std::exception&) {
      fail(where, std::string("expected seconds, got '") + env + "'");
    }
  }
  if (!(seconds > 0)) fail(where, "must be > 0 seconds");
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

}  // namespace attune::cli
