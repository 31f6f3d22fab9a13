#include <lamina/nn/lenet.h>

#include <stdexcept>

#include <lamina/nn/batch_norm.h>
#include <lamina/nn/conv2d.h>
#include <lamina/nn/flatten.h>
#include <lamina/nn/linear.h>
#include <lamina/nn/pooling.h>

namespace lamina::nn {
namespace {

std::shared_ptr<Module> make_activation(Activation a) {
  switch (a) {
    case Activation::ReLU: return std::make_shared<ReLU>();
    case Activation::Sigmoid: return std::make_shared<Sigmoid>();
    case Activation::Tanh: return std::make_shared<Tanh>();
    case Activation::GELU: return std::make_shared<GELU>();
    case Activation::None: break;
  }
  throw std::invalid_argument("LeNet: an activation is required between its layers");
}

std::shared_ptr<Module> make_pool(Pooling p) {
  if (p == Pooling::Max) return std::make_shared<MaxPool2d>(2, 2);
  return std::make_shared<AvgPool2d>(2, 2);
}

}  // namespace

LeNet::LeNet(LeNetOptions o) {
  // With BatchNorm the layers get no bias (BatchNorm's shift replaces it) and the activation follows the norm.
  const bool bn = o.batch_norm;
  add(Conv2d(6, 5, {.padding = 2, .bias = !bn}));
  if (bn) add(BatchNorm2d(6));
  add(make_activation(o.activation), make_pool(o.pooling));
  add(Conv2d(16, 5, {.bias = !bn}));
  if (bn) add(BatchNorm2d(16));
  add(make_activation(o.activation), make_pool(o.pooling), Flatten());
  add(Linear(120, {.bias = !bn}));
  if (bn) add(BatchNorm1d(120));
  add(make_activation(o.activation));
  add(Linear(84, {.bias = !bn}));
  if (bn) add(BatchNorm1d(84));
  add(make_activation(o.activation));
  add(Linear(o.num_classes));
}

}  // namespace lamina::nn
