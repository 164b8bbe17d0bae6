// The image-classification task, as the task registry holds it.
#pragma once
#include "tasks/task.h"

#include <memory>

namespace attune::image_classification {

std::unique_ptr<tasks::Task> make_task();

}  // namespace attune::image_classification
