// Task names to tasks. The built-in tasks are registered in registry.cpp, one line
// each; a program that embeds attune adds its own with register_task().
#pragma once
#include "tasks/task.h"

#include <memory>
#include <string>
#include <vector>

namespace attune::tasks {

// Adds a task; fails when its name is taken.
void register_task(std::unique_ptr<Task> task);

// Fails naming `key` with the known tasks when `name` is not one.
const Task& find_task(const std::string& name, const std::string& key);
std::vector<const Task*> all_tasks();
// The task a run config's "task" key names (null or not a string after --set fails too).
const Task& task_of_config(const nlohmann::json& config);
// The task of a run directory's config.json; fails naming the directory or file.
const Task& task_of_run(const std::string& run_dir);
// The task named by a bundle's manifest.json (the full check of the bundle comes when it
// is loaded); fails naming the directory or file.
const Task& task_of_bundle(const std::string& bundle_dir);

// A run config for `attune train`: the user's JSON merged onto the task's defaults
// (the task named in `user`, else `default_task`), then `overrides` (--set).
// `source` names the user's file in error messages.
nlohmann::json train_config(const nlohmann::json& user, const std::string& source, const std::string& default_task,
                            const std::vector<std::string>& overrides);
// Trains (or with flags.resume continues) the run `config` describes; returns its summary.
nlohmann::json train(const nlohmann::json& config, const engine::TrainFlags& flags);

}  // namespace attune::tasks
