// Uses an installed lamina: loss = relu(x * w) · x and its gradient with respect to w.
#include <cstdio>
#include <vector>

#include <lamina/lamina.h>

int main() {
  using namespace lamina;
  const Tensor x = from_vector<float>({1, -2, 3}, {3});
  Tensor w = full({3}, 2.0);
  w.requires_grad_();
  const Tensor loss = matmul(relu(x * w), x);  // [2, 0, 6] · [1, -2, 3] = 20
  loss.backward();
  const std::vector<float> grad = w.grad().to_vector<float>();  // x² where x * w > 0: [1, 0, 9]
  std::printf("loss %g, d loss / d w = [%g, %g, %g]\n", loss.item(), grad[0], grad[1], grad[2]);
  const bool ok = loss.item() == 20 && grad == std::vector<float>{1, 0, 9};
  return ok ? 0 : 1;
}
