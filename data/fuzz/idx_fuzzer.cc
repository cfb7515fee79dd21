// libFuzzer target for the IDX parsers (data/readers.h). The first byte picks images or labels
// and, for labels, the class count; the rest is the file content. Any input must either parse
// into consistent data or throw DataFileError; anything else is a bug. Build and run:
// tools/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include <simdnn/data/readers.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::span<const std::uint8_t> bytes(data + 1, size - 1);
  try {
    if ((selector & 1) != 0) {
      const simdnn::IdxImages images = simdnn::parse_idx_images(bytes, "fuzz-images", 1.0f / 255);
      if (images.pixels.cols() != images.height * images.width) std::abort();
      if (16 + images.pixels.size() != bytes.size()) std::abort();
      for (std::size_t i = 0; i < images.pixels.size(); ++i) {
        const float v = images.pixels.data()[i];
        if (!(v >= 0.0f && v <= 1.0f)) std::abort();
      }
    } else {
      const int num_classes = 1 + (selector >> 1);  // 1..128
      const auto labels = simdnn::parse_idx_labels(bytes, "fuzz-labels", num_classes);
      if (8 + labels.size() != bytes.size()) std::abort();
      for (const std::int32_t label : labels) {
        if (label < 0 || label >= num_classes) std::abort();
      }
    }
  } catch (const simdnn::DataFileError&) {
  }
  return 0;
}
