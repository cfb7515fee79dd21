// libFuzzer target for the MNIST JSON reader (data/mnist.h, parse_mnist_class): any text must
// either parse into whole 28x28 images with pixels in [0, 1], all of the given class, or throw
// DataFileError; anything else is a bug. Build and run: tools/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <simdnn/data/mnist.h>
#include <simdnn/data/readers.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const simdnn::LabeledData d = simdnn::parse_mnist_class(text, 3, "fuzz.json");
    if (d.features.cols() != simdnn::kMnistSide * simdnn::kMnistSide) std::abort();
    if (d.features.rows() == 0 || d.labels.size() != d.features.rows()) std::abort();
    for (const std::int32_t label : d.labels) {
      if (label != 3) std::abort();
    }
    for (std::size_t i = 0; i < d.features.size(); ++i) {
      const float v = d.features.data()[i];
      if (!(v >= 0.0f && v <= 1.0f)) std::abort();
    }
  } catch (const simdnn::DataFileError&) {
  }
  return 0;
}
