// Tiny generated data sets with known structure, shared by the task and CLI tests.
#pragma once
#include "data/io/files.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace attune::testing {

// A fresh empty directory under the system temp dir.
inline std::string temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("attune-test-" + name);
  io::remove_tree(dir.string());
  std::filesystem::create_directories(dir);
  return dir.string();
}

// Texts about one of three topics; each text has topic words among shared filler
// words, sometimes over two lines (quoted CSV fields with embedded newlines).
inline void write_topics_csv(const std::string& path, int n, uint32_t seed) {
  const std::vector<std::string> labels = {"food", "sport", "tech"};
  const std::vector<std::vector<std::string>> topic_words = {
      {"bread", "cheese", "soup", "apple", "dinner", "bake"},
      {"goal", "match", "team", "score", "runner", "ball"},
      {"laptop", "code", "server", "chip", "network", "compiler"}};
  const std::vector<std::string> filler = {"the", "a", "today", "we", "really", "liked", "some", "very", "new", "old"};
  std::mt19937 rng(seed);
  std::ofstream out(path);
  out << "text,label\n";
  for (int i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng() % 3);
    std::string text;
    const int words = 4 + static_cast<int>(rng() % 8);
    for (int w = 0; w < words; ++w) {
      const auto& pool = (rng() % 3 == 0) ? topic_words[label] : filler;
      text += (w ? (rng() % 7 == 0 ? "\n" : " ") : "") + pool[rng() % pool.size()];
    }
    out << "\"" << text << ", \"\"quoted\"\"\"," << labels[label] << "\n";
  }
}

}  // namespace attune::testing
