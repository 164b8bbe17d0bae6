#include "tasks/engine/rendezvous.h"

#include "core/error.h"

#include <cctype>

namespace attune::engine {
namespace {

// A whole non-negative decimal number in [low, high]; anything else fails naming `name`.
int64_t parse_count(const std::string& name, const std::string& text, int64_t low, int64_t high) {
  if (text.empty() || text.size() > 12) fail(name, "expected a number in [" + std::to_string(low) + ", " + std::to_string(high) + "], got '" + text + "'");
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      fail(name, "expected a number in [" + std::to_string(low) + ", " + std::to_string(high) + "], got '" + text + "'");
    }
  }
  const int64_t value = std::stoll(text);
  if (value < low || value > high) {
    fail(name, "expected a number in [" + std::to_string(low) + ", " + std::to_string(high) + "], got '" + text + "'");
  }
  return value;
}

std::string need(const EnvLookup& env, const char* name, const std::string& why) {
  const char* value = env(name);
  if (!value || !*value) fail(name, "not set (" + why + ")");
  return value;
}

int64_t count_or(const EnvLookup& env, const char* name, int64_t fallback, int64_t low, int64_t high) {
  const char* value = env(name);
  return value && *value ? parse_count(name, value, low, high) : fallback;
}

// "a,b[1-2],c" split at the commas outside brackets.
std::vector<std::string> split_top_level(const std::string& list, const std::string& name) {
  std::vector<std::string> parts;
  std::string current;
  int depth = 0;
  for (char c : list) {
    if (c == '[') ++depth;
    if (c == ']' && --depth < 0) fail(name, "unbalanced ']' in host list '" + list + "'");
    if (c == ',' && depth == 0) {
      parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (depth != 0) fail(name, "unbalanced '[' in host list '" + list + "'");
  parts.push_back(current);
  return parts;
}

void expand_into(const std::string& pattern, const std::string& list, std::vector<std::string>& hosts) {
  const size_t open = pattern.find('[');
  if (open == std::string::npos) {
    if (pattern.empty()) fail("SLURM_JOB_NODELIST", "empty host name in '" + list + "'");
    hosts.push_back(pattern);
    return;
  }
  const size_t close = pattern.find(']', open);
  const std::string prefix = pattern.substr(0, open);
  const std::string rest = pattern.substr(close + 1);  // may hold more brackets: expanded recursively
  const std::string ranges = pattern.substr(open + 1, close - open - 1);
  for (const std::string& range : split_top_level(ranges, "SLURM_JOB_NODELIST")) {
    const size_t dash = range.find('-');
    const std::string first = range.substr(0, dash);
    const std::string last = dash == std::string::npos ? first : range.substr(dash + 1);
    const int64_t from = parse_count("SLURM_JOB_NODELIST", first, 0, 999999999);
    const int64_t to = parse_count("SLURM_JOB_NODELIST", last, 0, 999999999);
    if (to < from) fail("SLURM_JOB_NODELIST", "descending range '" + range + "' in '" + list + "'");
    for (int64_t i = from; i <= to; ++i) {
      std::string number = std::to_string(i);
      if (number.size() < first.size()) number = std::string(first.size() - number.size(), '0') + number;
      expand_into(prefix + number + rest, list, hosts);
    }
  }
}

}  // namespace

std::vector<std::string> expand_hostlist(const std::string& list) {
  std::vector<std::string> hosts;
  for (const std::string& part : split_top_level(list, "SLURM_JOB_NODELIST")) expand_into(part, list, hosts);
  return hosts;
}

std::optional<Rendezvous> rendezvous_from_env(const EnvLookup& env) {
  Rendezvous r;
  const char* world = env("WORLD_SIZE");
  if (world && *world) {
    r.launcher = "torchrun";
    r.world_size = static_cast<int>(parse_count("WORLD_SIZE", world, 1, 65536));
    const std::string why = "WORLD_SIZE is set, so torchrun's variables are expected";
    r.rank = static_cast<int>(parse_count("RANK", need(env, "RANK", why), 0, r.world_size - 1));
    r.local_rank = static_cast<int>(count_or(env, "LOCAL_RANK", 0, 0, 65535));
    r.local_world_size = static_cast<int>(count_or(env, "LOCAL_WORLD_SIZE", 1, 1, 65536));
    r.master_addr = need(env, "MASTER_ADDR", why);
    r.master_port = static_cast<uint16_t>(parse_count("MASTER_PORT", need(env, "MASTER_PORT", why), 1, 65535));
    // A world of one trains alone, unless asked to keep the group and its gradient sums
    // (to measure what they cost: docs/distributed.md).
    const char* keep = env("ATTUNE_GROUP_OF_ONE");
    if (r.world_size == 1 && !(keep && std::string(keep) == "1")) return std::nullopt;
    return r;
  }
  const char* tasks = env("SLURM_NTASKS");
  const char* procid = env("SLURM_PROCID");
  if (!tasks || !*tasks || !procid || !*procid) return std::nullopt;
  r.launcher = "slurm";
  r.world_size = static_cast<int>(parse_count("SLURM_NTASKS", tasks, 1, 65536));
  if (r.world_size == 1) return std::nullopt;
  r.rank = static_cast<int>(parse_count("SLURM_PROCID", procid, 0, r.world_size - 1));
  const std::string why = "a Slurm job step of " + std::to_string(r.world_size) + " tasks";
  r.local_rank = static_cast<int>(parse_count("SLURM_LOCALID", need(env, "SLURM_LOCALID", why), 0, 65535));
  // SLURM_NTASKS_PER_NODE is set only with --ntasks-per-node; the node count bounds it otherwise.
  const int64_t nodes = count_or(env, "SLURM_JOB_NUM_NODES", count_or(env, "SLURM_NNODES", 1, 1, 65536), 1, 65536);
  r.local_world_size = static_cast<int>(
      count_or(env, "SLURM_NTASKS_PER_NODE", (r.world_size + nodes - 1) / nodes, 1, 65536));
  const char* addr = env("MASTER_ADDR");
  if (addr && *addr) {
    r.master_addr = addr;
  } else {
    const char* nodelist = env("SLURM_JOB_NODELIST");
    if (!nodelist || !*nodelist) nodelist = env("SLURM_NODELIST");
    if (!nodelist || !*nodelist) fail("SLURM_JOB_NODELIST", "not set, and no MASTER_ADDR (" + why + ")");
    r.master_addr = expand_hostlist(nodelist).front();
  }
  const char* port = env("MASTER_PORT");
  if (port && *port) {
    r.master_port = static_cast<uint16_t>(parse_count("MASTER_PORT", port, 1, 65535));
  } else {
    const int64_t job = parse_count("SLURM_JOB_ID", need(env, "SLURM_JOB_ID", "no MASTER_PORT, so the port derives from the job id"), 0, 999999999999);
    r.master_port = static_cast<uint16_t>(15000 + job % 20000);
  }
  return r;
}

}  // namespace attune::engine
