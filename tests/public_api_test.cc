// The public surface: <simdnn/simdnn.h> alone is enough to use the library, and it exposes
// neither xsimd nor oneTBB (those stay behind simdnn::internal headers).
#include <simdnn/simdnn.h>

#include <gtest/gtest.h>

#if defined(XSIMD_HPP)
#error "a public simdnn header includes xsimd"
#endif
#if defined(__TBB_detail__config_H)
#error "a public simdnn header includes oneTBB"
#endif

namespace simdnn {
namespace {

TEST(PublicApi, UmbrellaHeaderTrainsAModel) {
  auto model = make_mlp({.inputs = 2, .hidden = {8}, .outputs = 1, .seed = 1});
  Tensor x(4, 2), y(4, 1);
  const float xs[] = {0, 0, 0, 1, 1, 0, 1, 1};
  const float ys[] = {0, 1, 1, 1};  // OR
  for (int i = 0; i < 8; ++i) x.data()[i] = xs[i];
  for (int i = 0; i < 4; ++i) y.data()[i] = ys[i];
  BinaryCrossEntropyWithLogits loss;
  Adam adam(all_parameters(*model), {.lr = 0.05});
  Trainer trainer(*model, loss, adam, {.epochs = 200, .batch_size = 4});
  trainer.fit(x.cview(), y.cview());
  EXPECT_EQ(trainer.evaluate(x.cview(), y.cview()).accuracy, 1.0);
}

}  // namespace
}  // namespace simdnn
