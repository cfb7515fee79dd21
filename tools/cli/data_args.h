// The data options shared by train, evaluate and predict (--data, --labels, --label,
// --no-header) and how they become data sets.
//
// --data is a CSV file (a header line by default; --no-header otherwise) or an IDX image file
// (the MNIST format), told apart by content: IDX images start with the magic 0x00000803, which no
// text file does. Either may be gzip-compressed. IDX images need their IDX label file (--labels)
// where labels are needed; pixels are scaled to [0, 1] (byte / 255).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <simdnn/core/tensor.h>
#include <simdnn/data/labeled_data.h>
#include <simdnn/data/readers.h>

namespace CLI {
class App;
}

namespace simdnn::cli {

struct DataArgs {
  std::string data;    // --data
  std::string labels;  // --labels: the IDX labels of IDX images
  std::string label;   // --label: the CSV's label column, a header name or a 0-based index
  bool no_header = false;
};

// Adds --data (required), --label, --no-header and, with idx_labels, --labels to `command`.
void add_data_options(CLI::App& command, DataArgs& args, const std::string& data_help, bool idx_labels = true);

// The CsvOptions of `args` (header, label column by name or index). Throws CliError for a bad
// --label (an index below -1, a name with --no-header).
CsvOptions csv_options(const DataArgs& args);

// How labels are read, from what the model knows.
struct LabelRule {
  std::vector<std::string> classes;  // non-empty: text labels, each one of these classes
  std::size_t num_classes = 0;       // numeric labels must be below it (IDX labels too)
  bool learn = false;                // training data: text labels, if any, define the classes
  std::size_t input_width = 0;       // > 0: a CSV must have this many feature columns
};

// The labeled data set in `path` with the labels in `labels_path` when it is IDX (args gives the
// CSV options). `option` names the option in messages ("--data", "--val"). Throws CliError.
LabeledData load_labeled(const DataArgs& args, const std::string& path, const std::string& labels_path,
                         const std::string& option, const LabelRule& rule);

// The inputs of args.data for prediction: IDX images, or a CSV with `input_width` columns (no
// label), or with one more, the label (the last column, or --label's), which is ignored. Throws
// CliError when the width fits neither.
Tensor load_inputs(const DataArgs& args, std::size_t input_width);

// Throws CliError naming `option`, `path` and both widths unless x has `input_width` columns.
void check_width(ConstMatrixView x, std::size_t input_width, const std::string& option,
                 const std::string& path);

// "a, b, c": names for messages.
std::string join_names(const std::vector<std::string>& names);

}  // namespace simdnn::cli
