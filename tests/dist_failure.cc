// A data-parallel run in which one rank throws in the middle of an epoch (tests/dist_test.sh
// runs it under mpirun): the failing rank reports the error with its rank and aborts the job, so
// every process exits non-zero promptly instead of waiting in a reduction for the lost rank.
//   dist_failure FAILING_RANK
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <simdnn/dist/mpi.h>
#include <simdnn/train/callbacks.h>

#include "tests/data_parallel_case.h"

int main(int argc, char** argv) {
  simdnn::dist::MpiSession mpi(argc, argv);
  const std::size_t failing = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1;
  try {
    simdnn::dist::MpiCollective ranks;
    const simdnn::testing::DataParallelCase c;
    auto net = simdnn::testing::DataParallelCase::model();
    simdnn::SoftmaxCrossEntropy loss;
    simdnn::Adam adam(simdnn::all_parameters(*net), simdnn::AdamOptions{.lr = 0.01});
    simdnn::Trainer trainer(*net, loss, adam,
                            simdnn::TrainerOptions{.epochs = 3, .batch_size = 32, .gradient_chunks = 4, .collective = &ranks});
    trainer.add_callback<simdnn::LambdaCallback>(simdnn::LambdaCallback::Hooks{
        .batch_end = [&](simdnn::Trainer& t, double) {
          if (ranks.rank() == failing && t.current_epoch() == 1 && t.current_batch() == 2) {
            throw std::runtime_error("injected failure at epoch 1, batch 2");
          }
        }});
    trainer.fit(c.x.cview(), c.y.cview());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dist_failure: rank %zu failed: %s\n", mpi.rank(), e.what());
    mpi.abort(3);
  }
  return 0;
}
