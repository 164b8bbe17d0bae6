// The mlm (masked-language-model pretraining) task, as the task registry holds it.
#pragma once
#include "tasks/task.h"

#include <memory>

namespace attune::pretraining {

std::unique_ptr<tasks::Task> make_task();

}  // namespace attune::pretraining
