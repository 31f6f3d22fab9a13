// The quick start: a two-layer MLP written with core ops only (tensors, matmul, relu, autograd) and trained by
// plain gradient descent to imitate a fixed random "teacher" network on random inputs. The loss falls; the
// program fails (exit 1) if it does not.
#include <cmath>
#include <cstdio>

#include <lamina/lamina.h>

using namespace lamina;

int main() {
  manual_seed(0);
  const std::int64_t batch = 256, in = 32, hidden = 64;
  const double lr = 0.05;

  const Tensor x = randn({batch, in});
  const Tensor y = matmul(relu(matmul(x, randn({in, 16}))), randn({16, 1})) * 0.25;  // the teacher's answers

  Tensor w1 = randn({in, hidden}, {}, 0.0, std::sqrt(2.0 / in));
  Tensor b1 = zeros({hidden});
  Tensor w2 = randn({hidden, 1}, {}, 0.0, std::sqrt(1.0 / hidden));
  Tensor b2 = zeros({1});
  for (Tensor* p : {&w1, &b1, &w2, &b2}) p->requires_grad_();

  double first_loss = 0, last_loss = 0;
  for (int step = 0; step <= 200; ++step) {
    const Tensor pred = matmul(relu(matmul(x, w1) + b1), w2) + b2;
    const Tensor diff = pred - y;
    const Tensor loss = mean(diff * diff);
    loss.backward();
    {
      NoGradGuard no_grad;
      for (Tensor* p : {&w1, &b1, &w2, &b2}) {
        p->add_(p->grad(), -lr);
        p->grad().zero_();
      }
    }
    last_loss = loss.item();
    if (step == 0) first_loss = last_loss;
    if (step % 20 == 0) std::printf("step %3d  loss %.5f\n", step, last_loss);
  }
  if (!(last_loss < 0.1 * first_loss)) {
    std::printf("the loss did not fall tenfold: %.5f -> %.5f\n", first_loss, last_loss);
    return 1;
  }
  return 0;
}
