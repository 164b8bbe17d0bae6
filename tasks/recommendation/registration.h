// The recommendation task, as the task registry holds it.
#pragma once
#include "tasks/task.h"

#include <memory>

namespace attune::recommendation {

std::unique_ptr<tasks::Task> make_task();

}  // namespace attune::recommendation
