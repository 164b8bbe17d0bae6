// File helpers with the guarantees a training run needs: whole-file reads with clear
// errors, and writes that are atomic (a reader sees the old file or the new one,
// never a torn one, even if the process dies mid-write).
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace attune::io {

std::string read_file(const std::string& path);
void write_file_atomic(const std::string& path, const std::string& bytes);
void write_json_atomic(const std::string& path, const nlohmann::json& value);
// Makes the renames and new entries in `dir` durable (best effort: some file systems refuse).
void sync_directory(const std::string& dir);
// Fails naming the file, line and column of a syntax error.
nlohmann::json read_json(const std::string& path);
// The reason part of a nlohmann::json parse error, without its position prefix.
std::string json_parse_reason(const std::string& what);
// One line of a JSONL file; a syntax error fails as "where: invalid JSON: reason".
nlohmann::json parse_json_line(const std::string& line, const std::string& where);
// Appends one line and flushes it (metrics.jsonl).
void append_line(const std::string& path, const std::string& line);
// Appends bytes with one write (TensorBoard's event records).
void append_bytes(const std::string& path, const std::string& bytes);
// Rewrites a JSONL file atomically, keeping the lines `keep` accepts (and dropping
// a torn last line left by a crash).
void truncate_jsonl_after(const std::string& path, const std::function<bool(const nlohmann::json&)>& keep);
bool is_tty(int fd);

// Removes a file or a directory tree; a missing path is not an error. Used instead of
// std::filesystem::remove_all, which PyTorch 2.x's libtorch.so exports in a build
// that crashes (a null call) when linked against a newer libstdc++.
void remove_tree(const std::string& path);

// Exporters' output folders: `dir` must not exist, or be an empty directory; otherwise
// fails naming it ("output directory exists and is not empty").
void require_empty_output_dir(const std::string& dir);

// Regular files under `dir`, as sorted '/'-separated paths relative to it (symbolic
// links are not followed). Written with directory_iterator alone, the one directory
// walk known to behave with PyTorch 2.x's libtorch.so (see remove_tree).
std::vector<std::string> list_files(const std::string& dir);

}  // namespace attune::io
