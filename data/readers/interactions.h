// User-item interaction logs (ratings, listens, purchases): CSV / TSV / JSONL with named
// columns, and the MovieLens files as distributed (ratings.dat with "::", u.data with
// tabs), so the standard benchmarks need no conversion.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attune::data {

struct InteractionColumns {
  // "auto" (by file name: ratings.dat / *.dat -> movielens-dat, u.data -> movielens-tab,
  // otherwise by extension as read_table), "csv", "tsv", "jsonl", "movielens-dat",
  // "movielens-tab". The MovieLens formats fix the columns: user, item, rating, time.
  std::string format = "auto";
  std::string user = "user";
  std::string item = "item";
  std::string time;    // "" = no timestamps: the file's order is the order
  std::string rating;  // "" = every interaction counts; otherwise numeric
  std::vector<std::string> features;  // categorical columns kept as they are (user features)
};

struct Interaction {
  std::string user;
  std::string item;
  double time = 0.0;
  double rating = 1.0;
  int64_t line = 0;  // 1-based line in the file
  std::vector<std::string> features;  // InteractionColumns::features' values
};

struct InteractionLog {
  std::string path;
  bool has_time = false;
  bool has_rating = false;
  std::vector<Interaction> rows;  // in file order
  std::string where(size_t row) const { return path + ":" + std::to_string(rows[row].line); }
};

// Fails naming the file and line for malformed lines (wrong field count, empty user or
// item, a time or rating that is not a number), and naming the key for unknown columns.
// key: the config section, for those errors.
InteractionLog read_interactions(const std::string& path, const InteractionColumns& columns, const std::string& key);

}  // namespace attune::data
