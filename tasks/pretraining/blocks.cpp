#include "tasks/pretraining/blocks.h"

#include "core/error.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

namespace attune::pretraining {

std::vector<std::string> read_lines(const std::string& path) {
  if (!std::filesystem::exists(path)) fail(path, "file does not exist");
  if (std::filesystem::is_directory(path)) fail(path, "is a directory, expected a text file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open file");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(std::move(line));
  }
  if (lines.empty()) fail(path, "no text (expected one paragraph per line)");
  return lines;
}

TokenBlocks::TokenBlocks(const std::vector<std::string>& lines, const text::Tokenizer& tokenizer, int64_t max_length,
                         int64_t threads)
    : max_length_(max_length), cls_(tokenizer.cls_id()), sep_(tokenizer.sep_id()), pad_(tokenizer.pad_id()) {
  TORCH_CHECK(max_length >= 3, "TokenBlocks: max_length must leave room for [CLS] x [SEP]");
  if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<int64_t>(threads, std::max<size_t>(1, lines.size() / 64));
  // Contiguous slices per thread, concatenated in order: the stream is the same for any thread count.
  std::vector<std::vector<int32_t>> parts(threads);
  std::vector<std::thread> workers;
  const size_t n = lines.size();
  for (int64_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const size_t begin = n * t / threads, end = n * (t + 1) / threads;
      for (size_t i = begin; i < end; ++i) {
        for (int64_t id : tokenizer.encode_plain(lines[i])) parts[t].push_back(static_cast<int32_t>(id));
        parts[t].push_back(static_cast<int32_t>(sep_));
      }
    });
  }
  for (auto& w : workers) w.join();
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  stream_.reserve(total);
  for (auto& p : parts) {
    stream_.insert(stream_.end(), p.begin(), p.end());
    std::vector<int32_t>().swap(p);
  }
  const int64_t body = max_length_ - 2;
  blocks_ = (static_cast<int64_t>(stream_.size()) + body - 1) / body;
}

int64_t TokenBlocks::length(int64_t i) const {
  const int64_t body = max_length_ - 2;
  return std::min(body, static_cast<int64_t>(stream_.size()) - i * body) + 2;
}

std::vector<int64_t> TokenBlocks::lengths() const {
  std::vector<int64_t> out(blocks_);
  for (int64_t i = 0; i < blocks_; ++i) out[i] = length(i);
  return out;
}

torch::Tensor TokenBlocks::ids(const std::vector<int64_t>& blocks) const {
  int64_t width = 0;
  for (int64_t b : blocks) width = std::max(width, length(b));
  torch::Tensor out = torch::full({static_cast<int64_t>(blocks.size()), width}, pad_, torch::kLong);
  int64_t* p = out.data_ptr<int64_t>();
  const int64_t body = max_length_ - 2;
  for (size_t r = 0; r < blocks.size(); ++r) {
    TORCH_CHECK(blocks[r] >= 0 && blocks[r] < blocks_, "TokenBlocks: block ", blocks[r], " out of range");
    int64_t* row = p + r * width;
    const int64_t len = length(blocks[r]);
    row[0] = cls_;
    const int32_t* src = stream_.data() + blocks[r] * body;
    for (int64_t j = 0; j < len - 2; ++j) row[j + 1] = src[j];
    row[len - 1] = sep_;
  }
  return out;
}

torch::Tensor TokenBlocks::attention_mask(const std::vector<int64_t>& blocks) const {
  int64_t width = 0;
  for (int64_t b : blocks) width = std::max(width, length(b));
  torch::Tensor out = torch::zeros({static_cast<int64_t>(blocks.size()), width}, torch::kLong);
  for (size_t r = 0; r < blocks.size(); ++r) out[r].narrow(0, 0, length(blocks[r])).fill_(1);
  return out;
}

}  // namespace attune::pretraining
