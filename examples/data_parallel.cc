// Data-parallel training of a deep MLP over MPI: the example program of dist/ and its benchmark.
//
//   bazel build //examples:data_parallel
//   mpirun -np 2 bazel-bin/examples/data_parallel --threads 1
//   mpirun -np 4 --oversubscribe bazel-bin/examples/data_parallel --chunks 8
//
// Every rank builds the same network (20 hidden layers of 256 ReLU units with BatchNorm and
// dropout, by default) and the same synthetic classification set, and trains on its chunks of
// every batch (TrainerOptions::gradient_chunks, dist::MpiCollective). Rank 0 prints each epoch's
// loss and throughput, and a checksum of the trained weights: the same for -np 1, 2, 4, 8 with
// the same --chunks (and any --threads). With --out, rank 0 saves the network (atomically).
// Exits 2 on bad arguments; a rank that fails prints its error and rank, and aborts the job.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <simdnn/core/random.h>
#include <simdnn/core/threading.h>
#include <simdnn/dist/mpi.h>
#include <simdnn/models/model_config.h>
#include <simdnn/train/callbacks.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/trainer.h>

namespace {

struct Settings {
  std::size_t chunks = 8, epochs = 3, batch = 256, samples = 8192, width = 256, depth = 20, classes = 10;
  float dropout = 0.1f;
  int threads = 0;  // 0: simdnn's default
  std::string out;
};

// A synthetic set: normal features, the class from a fixed random projection (seeded, so every
// rank makes the same set).
void make_data(const Settings& s, simdnn::Tensor& x, simdnn::Tensor& y) {
  x = simdnn::Tensor(s.samples, s.width);
  y = simdnn::Tensor(s.samples, 1);
  simdnn::Tensor w(s.width, s.classes);
  simdnn::fill_normal(x.view(), 0.0f, 1.0f, 1, 0);
  simdnn::fill_normal(w.view(), 0.0f, 1.0f, 1, 1);
  for (std::size_t i = 0; i < s.samples; ++i) {
    std::size_t best = 0;
    float best_score = -1e30f;
    for (std::size_t c = 0; c < s.classes; ++c) {
      float score = 0.0f;
      for (std::size_t j = 0; j < s.width; ++j) score += x(i, j) * w(j, c);
      if (score > best_score) best_score = score, best = c;
    }
    y(i, 0) = static_cast<float>(best);
  }
}

// FNV-1a over the bits of every parameter and state tensor.
std::uint64_t checksum(simdnn::Layer& net) {
  std::uint64_t h = 1469598103934665603ull;
  auto add = [&](const simdnn::Tensor& t) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(t.data());
    for (std::size_t i = 0; i < t.size() * sizeof(float); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  };
  for (const simdnn::Parameter& p : simdnn::all_parameters(net)) add(*p.value);
  for (const simdnn::StateTensor& s : simdnn::all_state(net)) add(*s.value);
  return h;
}

int train(const Settings& s, simdnn::dist::MpiCollective& ranks) {
  if (s.threads > 0) simdnn::set_num_threads(s.threads);
  simdnn::Tensor x, y;
  make_data(s, x, y);
  simdnn::MlpConfig config;
  config.inputs = s.width;
  config.hidden.assign(s.depth, s.width);
  config.outputs = s.classes;
  config.batch_norm = true;
  config.dropout = s.dropout;
  config.seed = 5;
  auto net = simdnn::make_mlp(config);
  simdnn::SoftmaxCrossEntropy loss;
  simdnn::Adam adam(simdnn::all_parameters(*net), simdnn::AdamOptions{.lr = 1e-3});
  simdnn::TrainerOptions options;
  options.epochs = s.epochs;
  options.batch_size = s.batch;
  options.seed = 2;
  options.evaluate_train = false;
  options.record_grad_norms = false;
  options.gradient_chunks = s.chunks;
  options.collective = &ranks;
  simdnn::Trainer trainer(*net, loss, adam, options);
  if (!s.out.empty()) trainer.add_callback<simdnn::Checkpoint>(s.out, s.epochs, false);
  const bool root = ranks.rank() == 0;
  trainer.add_callback<simdnn::LambdaCallback>(simdnn::LambdaCallback::Hooks{
      .epoch_end = [&](simdnn::Trainer&, const simdnn::EpochRecord& e) {
        if (root) {
          std::printf("epoch %zu: loss %.6f, accuracy %.4f, %.1f samples/s\n", e.epoch + 1, e.train.loss,
                      e.train.accuracy, static_cast<double>(e.samples) / e.seconds);
        }
      }});
  const auto start = std::chrono::steady_clock::now();
  trainer.fit(x.cview(), y.cview());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (root) {
    std::printf("ranks %zu, threads per rank %d, chunks %zu: %.1f samples/s over %zu epochs\n", ranks.size(),
                simdnn::num_threads(), s.chunks, static_cast<double>(s.samples * s.epochs) / seconds, s.epochs);
    std::printf("weights checksum %016llx\n", static_cast<unsigned long long>(checksum(*net)));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  simdnn::dist::MpiSession mpi(argc, argv);
  Settings s;
  CLI::App app{"Data-parallel training of a deep MLP over MPI (simdnn dist/)", "data_parallel"};
  app.add_option("--chunks", s.chunks, "gradient chunks per batch (the ranks times a power of two)");
  app.add_option("--epochs", s.epochs, "epochs")->check(CLI::PositiveNumber);
  app.add_option("--batch", s.batch, "global batch size")->check(CLI::PositiveNumber);
  app.add_option("--samples", s.samples, "training samples")->check(CLI::PositiveNumber);
  app.add_option("--width", s.width, "features and hidden width")->check(CLI::PositiveNumber);
  app.add_option("--depth", s.depth, "hidden layers")->check(CLI::PositiveNumber);
  app.add_option("--dropout", s.dropout, "drop probability after each hidden layer")->check(CLI::Range(0.0, 0.99));
  app.add_option("--threads", s.threads, "threads per rank (default: simdnn's)")->check(CLI::NonNegativeNumber);
  app.add_option("--out", s.out, "save the trained network here (rank 0)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    if (code != 0) mpi.abort(2);
    return 0;
  }
  try {
    simdnn::dist::MpiCollective ranks;
    return train(s, ranks);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "data_parallel: rank %zu: %s\n", mpi.rank(), e.what());
    mpi.abort(2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "data_parallel: rank %zu failed: %s\n", mpi.rank(), e.what());
    mpi.abort(1);
  }
}
