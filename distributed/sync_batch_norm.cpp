#include <lamina/distributed/sync_batch_norm.h>

#include <lamina/nn/batch_norm.h>

namespace lamina::distributed {

int convert_sync_batch_norm(nn::Module& model, std::shared_ptr<ProcessGroup> group) {
  int converted = 0;
  model.apply([&](nn::Module& m) {
    auto* bn = dynamic_cast<nn::BatchNorm*>(&m);
    if (!bn) return;
    bn->set_statistics_reducer([group](Tensor& sums) { group->allreduce(sums, ReduceOp::Sum)->wait(); });
    ++converted;
  });
  return converted;
}

}  // namespace lamina::distributed
