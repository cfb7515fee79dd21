// 11. augmentation: the notebook's §6.4 (data augmentation: "shifts, rotations, noise") on real
// images, plus mixup (Zhang et al. 2018). Each model trains with and without each augmentation on
// several seeds in one loop (train_with_transform: the same shuffling, batches, optimizer and
// initial weights for a given seed), so only the augmentation differs between the arms, and a
// paired t-test over the seeds says whether a difference stands out from the seeds' spread.
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <simdnn/data/augment.h>
#include <simdnn/data/datasets.h>
#include "experiments/image_study.h"
#include "experiments/report.h"
#include "experiments/statistics.h"

namespace simdnn::repro {
namespace {

const std::vector<Setting> kSettings = {
    {.name = "epochs", .kind = Setting::Kind::count, .help = "training epochs", .value = 40, .quick_value = 2},
    {.name = "batch", .kind = Setting::Kind::count, .help = "mini-batch size", .value = 32},
    {.name = "seeds", .kind = Setting::Kind::count, .help = "training seeds per arm", .value = 5, .quick_value = 2},
    {.name = "shift", .kind = Setting::Kind::count, .help = "largest shift in pixels, each axis", .value = 1},
    {.name = "noise", .kind = Setting::Kind::positive, .help = "standard deviation of the Gaussian pixel noise",
     .value = 0.1},
    {.name = "alpha", .kind = Setting::Kind::positive, .help = "mixup's Beta(α, α) parameter", .value = 0.2},
    {.name = "dataset", .kind = Setting::Kind::choice, .help = "the images", .choice = "digits",
     .choices = {"digits", "fashion"}},
};

struct Arm {
  std::string id;     // CSV column stem
  std::string label;  // table and legend
  BatchTransform transform;
};

// The arms: none, shifts, noise, both, mixup. Every transform draws from its own (seed, stream =
// training step), apart from the shuffling's streams, so the arms see the same batches.
std::vector<Arm> make_arms(const Settings& set, std::size_t side, std::uint64_t seed) {
  const std::size_t shift = set.count("shift");
  const auto noise = static_cast<float>(set.real("noise"));
  const auto alpha = static_cast<float>(set.real("alpha"));
  const std::uint64_t shift_seed = seed ^ 0x7368696674ULL, noise_seed = seed ^ 0x6e6f697365ULL,
                      mixup_seed = seed ^ 0x6d69787570ULL;
  const auto copy = [](ConstMatrixView x, ConstMatrixView y, MatrixView xo, MatrixView yo) {
    for (std::size_t r = 0; r < x.rows; ++r) {
      std::copy_n(x.row(r), x.cols, xo.row(r));
      std::copy_n(y.row(r), y.cols, yo.row(r));
    }
  };
  const auto shifted = [=](MatrixView xo, std::uint64_t step) { random_shift(xo, side, side, shift, shift_seed, step); };
  const auto noisy = [=](MatrixView xo, std::uint64_t step) {
    add_gaussian_noise(xo, noise, noise_seed, step, ClipRange{0.0f, 1.0f});
  };
  const std::string shift_text = "shifts of up to " + std::to_string(shift) + " px";
  const std::string noise_text = "noise σ = " + shortest(set.real("noise"));
  return {
      {"none", "none", nullptr},
      {"shift", shift_text,
       [=](ConstMatrixView x, ConstMatrixView y, MatrixView xo, MatrixView yo, std::uint64_t step) {
         copy(x, y, xo, yo);
         shifted(xo, step);
       }},
      {"noise", noise_text,
       [=](ConstMatrixView x, ConstMatrixView y, MatrixView xo, MatrixView yo, std::uint64_t step) {
         copy(x, y, xo, yo);
         noisy(xo, step);
       }},
      {"shift_noise", shift_text + " + " + noise_text,
       [=](ConstMatrixView x, ConstMatrixView y, MatrixView xo, MatrixView yo, std::uint64_t step) {
         copy(x, y, xo, yo);
         shifted(xo, step);
         noisy(xo, step);
       }},
      {"mixup", "mixup α = " + shortest(set.real("alpha")),
       [=](ConstMatrixView x, ConstMatrixView y, MatrixView xo, MatrixView yo, std::uint64_t step) {
         mixup_into(x, y, xo, yo, alpha, mixup_seed, step);
       }},
  };
}

// Accuracies of one model in one arm, one entry per seed.
struct ArmResult {
  std::vector<double> train, test;
};

// results[m][a]: model m (kImageModels), arm a.
using Results = std::vector<std::vector<ArmResult>>;

Results train_arms(Experiment& e, const ImageData& d, const ImageModelConfig& models, const LoopOptions& loop,
                   const std::vector<Arm>& arms, std::size_t seeds) {
  Results results;
  for (ImageModel m : kImageModels) {
    results.emplace_back();
    for (const Arm& arm : arms) {
      ArmResult r;
      for (std::size_t s = 0; s < seeds; ++s) {
        const auto [train, test] = train_with_transform(m, d, models, loop, e.seed() + s, arm.transform);
        r.train.push_back(train);
        r.test.push_back(test);
      }
      e.progress(std::string(model_name(m)) + ", " + arm.label + ": test accuracy " + fmt(mean(r.test)));
      results.back().push_back(r);
    }
  }
  return results;
}

void write_tables(Experiment& e, const ImageData& d, const ImageModelConfig& models, const LoopOptions& loop,
                  const std::vector<Arm>& arms, const Results& results) {
  const std::size_t seeds = results[0][0].test.size();
  Table t({"model", "augmentation", "train_acc", "test_acc", "test_acc_minus_none", "paired_t", "significant"});
  std::vector<std::vector<double>> rows(seeds);
  std::vector<std::string> columns = {"seed"};
  Figure f{d.title + ": test accuracy per seed, each augmentation against none", 1, 2, {}};
  for (std::size_t s = 0; s < seeds; ++s) rows[s].push_back(static_cast<double>(e.seed() + s));
  for (std::size_t m = 0; m < results.size(); ++m) {
    const std::string model = model_name(kImageModels[m]);
    Panel panel = line_panel(describe(kImageModels[m], models), "seed", "test accuracy");
    for (std::size_t a = 0; a < arms.size(); ++a) {
      const ArmResult& r = results[m][a];
      const PairedT test = paired_t_test(results[m][0].test, r.test);
      const bool tested = a > 0 && test.df > 0 && std::isfinite(test.t);
      t.add_row({model, arms[a].label, mean_std(r.train, 4), mean_std(r.test, 4),
                 a == 0 ? "—" : fmt(mean(r.test) - mean(results[m][0].test), 4), tested ? fmt(test.t, 2) : "—",
                 a == 0 ? "—" : tested ? (test.significant() ? "yes" : "no") : "untested"});
      columns.push_back(model + "_" + arms[a].id);
      for (std::size_t s = 0; s < seeds; ++s) rows[s].push_back(r.test[s]);
      panel.series.push_back({d.stem("per_seed"), "seed", columns.back(), arms[a].label});
    }
    f.panels.push_back(panel);
  }
  e.csv(d.stem("per_seed"), columns, rows);
  e.figure(d.stem("per_seed"), f);
  const PairedT any = paired_t_test(results[0][0].test, results[0][1].test);
  e.table(d.stem("results"),
          d.title + ": accuracy with and without augmentation, mean ± sd over " + std::to_string(seeds) +
              " seeds (" + std::to_string(loop.epochs) + " epochs, batch " + std::to_string(loop.batch) +
              ", Adam lr " + shortest(loop.lr) + "); training accuracy on the unaugmented training set. "
              "paired_t: the paired t-test of test accuracy against `none` over the seeds; significant: |t| above "
              "the two-sided 5 % critical value " + (any.df > 0 ? fmt(any.critical, 3) : std::string("(none: one seed)")) +
              " for " + std::to_string(seeds - 1) + " degrees of freedom",
          t);
}

void explain(Experiment& e, const ImageData& d, const std::vector<Arm>& arms, const Results& results) {
  std::string findings;
  for (std::size_t m = 0; m < results.size(); ++m) {
    findings += "\n- " + std::string(model_name(kImageModels[m])) + ":";
    for (std::size_t a = 1; a < arms.size(); ++a) {
      findings += (a > 1 ? ";" : "") + std::string(" ") + arms[a].label + " " +
                  difference_text(results[m][0].test, results[m][a].test);
    }
  }
  // Shifts (arm 1) on the MLP: the sentence on why they help or hurt follows the sign of this run.
  const PairedT shift_test = paired_t_test(results[0][0].test, results[0][1].test);
  const bool shifts_hurt = shift_test.significant() && shift_test.t < 0;
  const bool shifts_help = shift_test.significant() && shift_test.t > 0;
  const std::string shift_text =
      shifts_hurt ? " In this run shifts *lower* the MLP's test accuracy: on " + std::to_string(d.side) + "×" +
                        std::to_string(d.side) + " images a shift of a pixel is a large move, while the test digits "
                        "are centred like the untouched training ones, so the shifted images teach positions the test "
                        "set never shows, and the MLP, which has no notion of neighbouring pixels, must learn each "
                        "position separately."
      : shifts_help ? " In this run shifts raise the MLP's test accuracy: the model overfit the exact pixel positions."
                    : " In this run shifts make no significant difference to the MLP.";
  e.note("**" + d.title + ", what it shows** (this run): test accuracy with each augmentation minus without, "
         "per model:" + findings + "\n\nResNet minus MLP, without augmentation: " +
         difference_text(results[0][0].test, results[1][0].test) +
         ".\n\nHow to read it. Each seed trains every arm from the same initial weights on the same batches, so a "
         "seed's difference between two arms is due to the augmentation alone, and the paired t-test compares "
         "the mean of those differences with their spread (Student's t with seeds − 1 degrees of freedom, "
         "two-sided, 5 %). With " + std::to_string(2 * (arms.size() - 1)) + " comparisons, about one in twenty "
         "comes out \"significant\" by chance alone (no correction for multiple comparisons), and a difference "
         "that is not significant is not shown to be zero: more seeds (`--seeds`) narrow it down. Shifts and noise "
         "make the training images vary the way new images do (the digit is drawn a pixel off, the scan is "
         "noisy), so they help where the model overfits the exact pixels." + shift_text + " mixup trains on "
         "convex combinations λ·x + (1−λ)·x' with the same mix of the one-hot targets (λ ~ Beta(α, α) per batch), "
         "which smooths the decision boundaries between classes; with α = 0.2 most λ lie near 0 or 1, so most "
         "mixed images stay close to one of the two originals.");
}

void run(Experiment& e) {
  const Settings& set = e.settings();
  const std::string dataset = set.choice("dataset");
  if (dataset == "fashion" && !fashion_mnist_available()) {
    const std::string msg = std::string("Fashion-MNIST is not installed (") + kFashionMnistDir +
                            "); install the Debian package dataset-fashion-mnist. Skipped.";
    e.progress(msg);
    e.note("**Fashion-MNIST:** " + msg);
    return;
  }
  const ImageData d =
      dataset == "digits" ? digits_data(e.seed()) : fashion_data(e.scaled(10000, 1000), e.scaled(2000, 500), e.seed());
  const ImageModelConfig models = dataset == "digits" ? ImageModelConfig{{128, 64}, 64, 2} : ImageModelConfig{{256, 128}, 128, 2};
  const LoopOptions loop{.epochs = set.count("epochs"), .batch = set.count("batch"), .lr = 1e-3};
  const std::vector<Arm> arms = make_arms(set, d.side, e.seed());
  const Results results = train_arms(e, d, models, loop, arms, set.count("seeds"));
  write_tables(e, d, models, loop, arms, results);
  explain(e, d, arms, results);
  e.note(d.title + ": " + std::to_string(d.x_train.rows()) + " training and " + std::to_string(d.x_test.rows()) +
         " test images of " + std::to_string(d.side) + "×" + std::to_string(d.side) + " pixels in [0, 1], split as in "
         "`digits`. Shifts move each image by (dy, dx), each uniform in [−shift, shift] and drawn per image, filling "
         "with 0 (data/augment.h: random_shift); noise adds N(0, σ²) to every pixel and clamps to [0, 1] "
         "(add_gaussian_noise); \"both\" shifts, then adds noise. The test set is never augmented.");
}

const bool registered = register_experiment(
    110, {"augmentation", "11. Data augmentation: shifts, noise and mixup",
          "the digits (or Fashion-MNIST) with and without shifts, noise and mixup, over several seeds, with a "
          "paired t-test",
          run, kSettings});

}  // namespace
}  // namespace simdnn::repro
