#include "experiments/notebook_data.h"

namespace simdnn::repro {

MlpConfig notebook_mlp_config(std::uint64_t seed) {
  MlpConfig c;
  c.inputs = 20;
  c.hidden = {64, 32, 16};
  c.outputs = 1;
  c.activation = ActivationSpec::relu();
  c.init = InitSpec::he_normal();
  c.seed = seed;
  return c;
}

}  // namespace simdnn::repro
