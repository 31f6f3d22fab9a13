#include <lamina/nn/pooling.h>

#include <lamina/core/pooling.h>

namespace lamina::nn {

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel_, stride_, padding_); }
Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, kernel_, stride_, padding_); }
Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_size_); }
Tensor GlobalAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, {1, 1}).flatten(1); }

}  // namespace lamina::nn
