// Real data sets: the bundled UCI hand-written digits, and Fashion-MNIST from its Debian package.
//
// Digits (load_digits): 1797 8x8 images, 64 features with integer values 0..16, labels 0..9.
// The file is bundled as data/digits/digits.csv.gz (see data/digits/README.md for its source and
// licence) and is a `data` dependency of //data, so it is in the runfiles of every target that
// depends on //data. load_digits() with no path looks for it, in this order:
//   1. $SIMDNN_DIGITS_PATH, if set: that file and no other (an error if it cannot be read);
//   2. the runfiles: $TEST_SRCDIR/simdnn/data/digits/digits.csv.gz (bazel test), then the same
//      under $RUNFILES_DIR and under <this executable>.runfiles/ (bazel run, or a binary in
//      bazel-bin run directly); simdnn as an external repository @simdnn lives at the same place;
//   3. data/digits/digits.csv.gz relative to $BUILD_WORKSPACE_DIRECTORY (bazel run) and to the
//      current directory (a program started from the workspace root);
//   3b. a CMake install's copy, <prefix>/share/simdnn/digits/digits.csv.gz (the prefix given
//      when simdnn was configured);
//   4. Debian's python3-sklearn copy, /usr/lib/python3/dist-packages/sklearn/datasets/data/.
// If none exists it throws DataFileError listing every path it tried. An explicit path is read as
// it is, without searching.
//
// Fashion-MNIST (load_fashion_mnist): 60000 training and 10000 test 28x28 grey images, 10
// classes, from the IDX files of Debian's dataset-fashion-mnist package (gzip or plain). When
// the directory or one of its four files is missing it throws DatasetNotInstalledError, a type of
// its own (not a DataFileError), so a caller can tell "not installed" from "corrupt" and, e.g.,
// skip; fashion_mnist_available() asks without throwing.
#pragma once

#include <stdexcept>
#include <string>

#include <simdnn/data/labeled_data.h>

namespace simdnn {

// A data set that must be installed separately is not there. The message says which package
// provides it and which paths were looked at.
class DatasetNotInstalledError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The path load_digits() would read (see the search order above). Throws DataFileError if none.
std::string find_digits_file();

// The digits, 1797 x 64 features (pixel counts 0..16 as floats) and labels 0..9, from `path`
// (a CSV, gzipped or not: 64 pixel columns then the label) or, if empty, from find_digits_file().
LabeledData load_digits(const std::string& path = "");

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct FashionMnist {
  LabeledData train;  // 60000 x 784, pixels scaled to [0, 1]; labels 0..9
  LabeledData test;   // 10000 x 784
};

// True if `dir` holds the four Fashion-MNIST IDX files (each as NAME.gz or NAME).
bool fashion_mnist_available(const std::string& dir = kFashionMnistDir);

// Reads train-{images-idx3,labels-idx1}-ubyte and t10k-{images-idx3,labels-idx1}-ubyte (each
// with or without .gz) from `dir`, pixels divided by 255. Throws DatasetNotInstalledError if a
// file is missing ("install the Debian package dataset-fashion-mnist"), DataFileError if one is
// corrupt.
FashionMnist load_fashion_mnist(const std::string& dir = kFashionMnistDir);

}  // namespace simdnn
