// The translation task, as the task registry holds it.
#pragma once
#include "tasks/task.h"

#include <memory>

namespace attune::translation {

std::unique_ptr<tasks::Task> make_task();

}  // namespace attune::translation
