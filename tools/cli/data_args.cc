#include "tools/cli/data_args.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <span>

#include "tools/cli/cli_error.h"

namespace simdnn::cli {
namespace {

constexpr float kPixelScale = 1.0f / 255.0f;

enum class FileKind { csv, idx_images, idx_labels };

// IDX files start with a big-endian magic whose first two bytes are zero; text never does.
FileKind kind_of(const std::vector<std::uint8_t>& bytes) {
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 8) return FileKind::csv;
  if (bytes[3] == 3) return FileKind::idx_images;
  return bytes[3] == 1 ? FileKind::idx_labels : FileKind::csv;
}

std::vector<std::uint8_t> read_bytes(const std::string& path, const std::string& option) {
  try {
    return read_file_bytes(path);
  } catch (const DataFileError& e) {
    throw CliError(option + ": " + e.what());
  }
}

std::string_view text_of(const std::vector<std::uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// IDX images and their labels; the label file must hold as many items as the image file.
LabeledData load_idx(const std::vector<std::uint8_t>& bytes, const std::string& path,
                     const std::string& labels_path, const std::string& option, std::size_t num_classes) {
  if (labels_path.empty()) {
    throw CliError(option + " " + path + ": an IDX image file needs its IDX label file (--labels" +
                   (option == "--val" ? std::string(" of --val: --val-labels") : std::string()) + ")");
  }
  IdxImages images = parse_idx_images(bytes, path, kPixelScale);
  const int classes = static_cast<int>(std::clamp<std::size_t>(num_classes, 1, 256));
  std::vector<std::int32_t> labels = read_idx_labels(labels_path, classes);
  if (labels.size() != images.pixels.rows()) {
    throw CliError(option + " " + path + ": " + std::to_string(images.pixels.rows()) + " images, but " +
                   labels_path + " holds " + std::to_string(labels.size()) + " labels");
  }
  return {std::move(images.pixels), std::move(labels)};
}

// The width first: a file of the wrong width would otherwise fail on whatever column happens to
// be read as the label, a message that hides the real problem.
void check_csv_width(std::string_view text, const std::string& path, const std::string& option, std::size_t inputs) {
  const std::size_t width = csv_width(text);
  if (inputs == 0 || width == 0 || width == inputs + 1) return;
  throw CliError(option + " " + path + ": " + std::to_string(width) + " columns, the model takes " +
                 std::to_string(inputs) + " inputs (expected " + std::to_string(inputs + 1) +
                 " columns: the features and a label)");
}

// A CSV: text labels as `rule` says; numeric labels below rule.num_classes.
LabeledData load_csv(std::string_view text, const std::string& path, CsvOptions options, const LabelRule& rule) {
  const int limit = static_cast<int>(std::min<std::size_t>(rule.num_classes, INT_MAX));
  if (!rule.classes.empty()) {
    options.labels = CsvLabels::given;
    options.class_names = rule.classes;
  } else if (rule.learn) {
    options.labels = CsvLabels::automatic;
  } else {
    options.num_classes = limit;
  }
  LabeledData data = parse_csv(text, path, options);
  const bool numeric = data.class_names.empty();
  if (rule.learn && numeric && limit > 0 &&
      std::any_of(data.labels.begin(), data.labels.end(), [&](std::int32_t y) { return y >= limit; })) {
    options.labels = CsvLabels::numeric;  // parsed again only to name the line of the bad label
    options.num_classes = limit;
    parse_csv(text, path, options);
  }
  return data;
}

}  // namespace

void add_data_options(CLI::App& command, DataArgs& args, const std::string& data_help, bool idx_labels) {
  command.add_option("--data", args.data, data_help)->required()->type_name("FILE");
  if (idx_labels) {
    command.add_option("--labels", args.labels, "the IDX label file of IDX images given as --data")->type_name("FILE");
  }
  command.add_option("--label", args.label,
                     "the CSV's label column: a header name, or a 0-based index (-1: the last; the default)")
      ->type_name("NAME_OR_INDEX");
  command.add_flag("--no-header", args.no_header, "the CSV has no header line (its first line is data)");
}

CsvOptions csv_options(const DataArgs& args) {
  CsvOptions options;
  options.header = !args.no_header;
  const std::string& label = args.label;
  if (label.empty()) return options;
  long long index = 0;
  const auto [end, ec] = std::from_chars(label.data(), label.data() + label.size(), index);
  if (ec == std::errc() && end == label.data() + label.size()) {
    if (index < -1 || index > INT_MAX) {
      throw CliError("--label " + label + ": a column index must be >= 0, or -1 for the last column");
    }
    options.label_column = static_cast<int>(index);
  } else if (args.no_header) {
    throw CliError("--label " + label + ": a column name needs a header line (drop --no-header, or give the 0-based index)");
  } else {
    options.label_name = label;
  }
  return options;
}

LabeledData load_labeled(const DataArgs& args, const std::string& path, const std::string& labels_path,
                         const std::string& option, const LabelRule& rule) {
  const CsvOptions options = csv_options(args);
  const std::vector<std::uint8_t> bytes = read_bytes(path, option);
  try {
    switch (kind_of(bytes)) {
      case FileKind::idx_images:
        return load_idx(bytes, path, labels_path, option, rule.num_classes);
      case FileKind::idx_labels:
        throw CliError(option + " " + path + ": an IDX label file; give the images here and the labels with --labels");
      case FileKind::csv:
        break;
    }
    if (!labels_path.empty()) throw CliError("--labels " + labels_path + ": given, but " + path + " is not an IDX image file");
    check_csv_width(text_of(bytes), path, option, rule.input_width);
    return load_csv(text_of(bytes), path, options, rule);
  } catch (const DataFileError& e) {
    throw CliError(option + ": " + e.what());
  }
}

Tensor load_inputs(const DataArgs& args, std::size_t input_width) {
  const CsvOptions options = csv_options(args);
  const std::vector<std::uint8_t> bytes = read_bytes(args.data, "--data");
  try {
    if (kind_of(bytes) == FileKind::idx_images) return parse_idx_images(bytes, args.data, kPixelScale).pixels;
    const std::string_view text = text_of(bytes);
    const std::size_t width = csv_width(text, options.delimiter);
    if (args.label.empty() && width == input_width) return parse_csv_features(text, args.data, options);
    if (!args.label.empty() || width == input_width + 1) {
      CsvOptions labeled = options;
      labeled.labels = CsvLabels::automatic;  // any label text: it is read past, not used
      return std::move(parse_csv(text, args.data, labeled).features);
    }
    throw CliError("--data " + args.data + ": " + std::to_string(width) + " columns, the model takes " +
                   std::to_string(input_width) + " inputs (give " + std::to_string(input_width) +
                   " feature columns, or " + std::to_string(input_width + 1) + " with a label column)");
  } catch (const DataFileError& e) {
    throw CliError(std::string("--data: ") + e.what());
  }
}

void check_width(ConstMatrixView x, std::size_t input_width, const std::string& option, const std::string& path) {
  if (x.cols == input_width) return;
  throw CliError(option + " " + path + ": " + std::to_string(x.cols) + " feature columns, the model takes " +
                 std::to_string(input_width) + " inputs");
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

}  // namespace simdnn::cli
