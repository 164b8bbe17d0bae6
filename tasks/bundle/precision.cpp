#include "tasks/bundle/precision.h"

namespace attune::bundle {

std::string precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFloat32: return "float32";
    case Precision::kInt8Dynamic: return "int8-dynamic";
    case Precision::kBFloat16: return "bfloat16";
  }
  return "float32";
}

}  // namespace attune::bundle
