#include <lamina/nn/mlp.h>

#include <lamina/nn/flatten.h>
#include <lamina/nn/linear.h>

namespace lamina::nn {

MLP::MLP(MLPOptions options) {
  add(Flatten());
  for (std::int64_t width : options.hidden) add(Linear(width, options.activation));
  add(Linear(options.num_classes));
}

}  // namespace lamina::nn
