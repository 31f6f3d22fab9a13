#include <lamina/distributed/process_group.h>

namespace lamina::distributed {

std::string reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Average: return "average";
    case ReduceOp::Max: return "max";
  }
  return "?";
}

}  // namespace lamina::distributed
