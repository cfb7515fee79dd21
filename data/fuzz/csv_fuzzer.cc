// libFuzzer target for the CSV parser (data/readers.h). The first byte picks the options (header,
// delimiter, label column, class count); the rest is the CSV text. Any input must either parse
// into consistent data or throw DataFileError; anything else (a crash, a sanitizer report, another
// exception, inconsistent output) is a bug. Build and run: tools/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <simdnn/data/readers.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  simdnn::CsvOptions options;
  options.header = (selector & 1) != 0;
  static constexpr char kDelimiters[4] = {',', ';', '\t', '|'};
  options.delimiter = kDelimiters[(selector >> 1) & 3];
  options.label_column = static_cast<int>((selector >> 3) & 3) - 1;  // -1, 0, 1, 2
  options.num_classes = (selector & 0x20) != 0 ? 10 : 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const simdnn::LabeledData parsed = simdnn::parse_csv(text, "fuzz.csv", options);
    if (parsed.features.rows() != parsed.labels.size() || parsed.labels.empty() ||
        parsed.features.cols() == 0) {
      std::abort();
    }
    for (const std::int32_t label : parsed.labels) {
      if (label < 0 || (options.num_classes > 0 && label >= options.num_classes)) std::abort();
    }
  } catch (const simdnn::DataFileError&) {
  }
  return 0;
}
