// Tiny generated data sets with known structure, shared by the task and CLI tests.
#pragma once
#include "core/files.h"

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

// Plain text, one paragraph per line, for masked-LM pretraining: a few sentences from a
// small grammar in which each animal has its own verbs and places, so a masked word is
// predictable from its context. Some words split into WordPiece continuations.
inline void write_sentences(const std::string& path, int paragraphs, uint32_t seed) {
  const std::vector<std::string> animals = {"cat", "dog", "horse", "parrot", "elephant", "hamster"};
  const std::vector<std::vector<std::string>> verbs = {{"purrs", "sleeps"}, {"barks", "runs"}, {"gallops", "neighs"},
                                                       {"talks", "whistles"}, {"trumpets", "bathes"}, {"nibbles", "hides"}};
  const std::vector<std::string> places = {"kitchen", "garden", "stable", "window", "river", "cage"};
  const std::vector<std::string> adjectives = {"big", "small", "old", "young", "happy", "sleepy", "unbelievably"};
  std::mt19937 rng(seed);
  std::ofstream out(path);
  for (int p = 0; p < paragraphs; ++p) {
    const int sentences = 1 + static_cast<int>(rng() % 3);
    for (int s = 0; s < sentences; ++s) {
      const size_t a = rng() % animals.size();
      out << (s ? " " : "") << "the " << adjectives[rng() % adjectives.size()] << " " << animals[a] << " "
          << verbs[a][rng() % 2] << " in the " << places[a] << ".";
    }
    out << "\n";
  }
}

// An interaction log "user,item,t,age" (dir/walks.csv, returned) in which users walk the
// items in a cycle: after item mI comes m(I+1 mod 20), 6-11 items each. Popularity knows
// nothing of that; a sequential model can learn it exactly.
inline std::string write_walks(const std::string& dir, int users, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::string path = dir + "/walks.csv";
  std::ofstream csv(path);
  csv << "user,item,t,age\n";
  for (int u = 0; u < users; ++u) {
    int item = static_cast<int>(rng() % 20);
    const int length = 6 + static_cast<int>(rng() % 6);
    for (int i = 0; i < length; ++i, item = (item + 1) % 20) {
      csv << "u" << u << ",m" << item << "," << 1000 + i << "," << (u % 3 == 0 ? "young" : "old") << "\n";
    }
  }
  return path;
}

// Parallel "source<TAB>target" lines: English digit words and their German word-for-word
// translation (3-8 words), a task a tiny translation model learns in seconds.
inline void write_number_pairs(const std::string& path, int n, uint32_t seed) {
  const std::vector<std::string> en = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
  const std::vector<std::string> de = {"null", "eins", "zwei", "drei", "vier", "fuenf", "sechs", "sieben", "acht", "neun"};
  std::mt19937 rng(seed);
  std::ofstream out(path);
  for (int i = 0; i < n; ++i) {
    std::string source, target;
    const int words = 3 + static_cast<int>(rng() % 6);
    for (int w = 0; w < words; ++w) {
      const size_t d = rng() % en.size();
      source += (w ? " " : "") + en[d];
      target += (w ? " " : "") + de[d];
    }
    out << source << "\t" << target << "\n";
  }
}

// An IDX file of unsigned bytes (MNIST's format) with the given dimensions.
inline std::string write_idx(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::string b = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) b += static_cast<char>((d >> shift) & 0xFF);
  b.append(values.begin(), values.end());
  std::ofstream(path, std::ios::binary) << b;
  return path;
}

// n images of size x size as DIR/NAME-images and DIR/NAME-labels (IDX); class c in 0..3
// lights quadrant c, on noise.
inline void write_quadrants(const std::string& dir, const std::string& name, int n, int size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> pixels, labels;
  const int half = size / 2;
  for (int i = 0; i < n; ++i) {
    const int c = static_cast<int>(rng() % 4);
    labels.push_back(static_cast<uint8_t>(c));
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const bool lit = (y < half) == (c < 2) && (x < half) == (c % 2 == 0);
        pixels.push_back(static_cast<uint8_t>((lit ? 160 : 0) + rng() % 60));
      }
  }
  write_idx(dir + "/" + name + "-images",
            {static_cast<uint32_t>(n), static_cast<uint32_t>(size), static_cast<uint32_t>(size)}, pixels);
  write_idx(dir + "/" + name + "-labels", {static_cast<uint32_t>(n)}, labels);
}

}  // namespace attune::testing
