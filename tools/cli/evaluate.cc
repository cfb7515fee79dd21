// simdnn evaluate and simdnn predict: a saved model applied to a data set.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include <simdnn/models/predictor.h>
#include <simdnn/train/metrics.h>
#include <simdnn/train/model_io.h>

#include "tools/cli/cli_error.h"
#include "tools/cli/commands.h"
#include "tools/cli/output_file.h"

namespace simdnn::cli {
namespace {

using nlohmann::json;

void require_classifier(const Model& model, const std::string& path, const char* command) {
  if (model.output != OutputKind::values) return;
  throw CliError("--model " + path + ": the model outputs values (a regression); " + command + " needs a classifier");
}

// The evaluation data: text labels must be the model's classes, numeric ones below its count.
LabeledData load_evaluation_data(const EvaluateArgs& a, const Model& model) {
  const LabelRule rule{.classes = model.class_names, .num_classes = model.num_classes(), .input_width = model.input_width()};
  LabeledData data = load_labeled(a.data, a.data.data, a.data.labels, "--data", rule);
  check_width(data.features.cview(), model.input_width(), "--data", a.data.data);
  return data;
}

json metrics_json(const ClassMetrics& m) {
  return {{"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1}, {"support", m.support}};
}

json report_json(const EvaluateArgs& a, const ClassificationReport& r, double loss, const std::vector<std::string>& names) {
  json confusion = json::array(), per_class = json::array();
  const std::size_t c = r.num_classes();
  for (std::size_t t = 0; t < c; ++t) {
    std::vector<std::size_t> row(c);
    for (std::size_t p = 0; p < c; ++p) row[p] = r.confusion(t, p);
    confusion.push_back(row);
    json m = metrics_json(r.per_class[t]);
    m["class"] = names[t];
    per_class.push_back(m);
  }
  return {{"model", a.model},        {"data", a.data.data},          {"samples", r.samples()},
          {"accuracy", r.accuracy},  {"log_loss", loss},             {"classes", names},
          {"confusion_matrix", confusion}, {"per_class", per_class}, {"macro_avg", metrics_json(r.macro_avg)},
          {"weighted_avg", metrics_json(r.weighted_avg)}};
}

void print_report(const EvaluateArgs& a, const ClassificationReport& r, double loss, const std::vector<std::string>& names) {
  std::printf("model: %s\ndata: %s (%zu samples)\naccuracy: %.4f\nlog_loss: %.4f\n\n", a.model.c_str(),
              a.data.data.c_str(), r.samples(), r.accuracy, loss);
  std::printf("confusion matrix (rows: true class, columns: predicted class)\n%s\n%s",
              format_confusion_matrix(r.confusion, names).c_str(),
              format_classification_report(r, names, 4).c_str());
}

// Shortest text that reads back as the same float.
std::string shortest(float v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "nan";
}

// A CSV cell: quoted (RFC 4180) when it holds a comma, a quote or a line break.
std::string cell(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string predictions_csv(const Model& model, ConstMatrixView x) {
  if (model.output == OutputKind::values) {  // a regression: its outputs, no classes
    const Tensor y = predict(model, x);
    std::string out;
    for (std::size_t j = 0; j < y.cols(); ++j) out += (j ? ",output_" : "output_") + std::to_string(j);
    for (std::size_t i = 0; i < y.rows(); ++i) {
      out += '\n';
      for (std::size_t j = 0; j < y.cols(); ++j) out += (j ? "," : "") + shortest(y(i, j));
    }
    return out + '\n';
  }
  const std::vector<std::string> names = display_names(model);
  const Tensor proba = predict_proba(model, x);
  const std::vector<std::int32_t> classes = predict_classes(model, x);
  std::string out = "class";
  for (const std::string& n : names) out += "," + cell("p_" + n);
  out += '\n';
  for (std::size_t i = 0; i < proba.rows(); ++i) {
    out += cell(names[static_cast<std::size_t>(classes[i])]);
    for (std::size_t j = 0; j < proba.cols(); ++j) out += "," + shortest(proba(i, j));
    out += '\n';
  }
  return out;
}

}  // namespace

Model load_model_file(const std::string& path, const std::string& option) {
  try {
    return load_model(path);
  } catch (const std::exception& e) {  // TensorFileError names the file and what is wrong
    throw CliError(option + ": " + e.what());
  }
}

std::vector<std::string> display_names(const Model& model) {
  if (!model.class_names.empty()) return model.class_names;
  std::vector<std::string> names;
  for (std::size_t c = 0; c < model.num_classes(); ++c) names.push_back(std::to_string(c));
  return names;
}

CLI::App* add_evaluate_command(CLI::App& app, EvaluateArgs& a) {
  CLI::App* c = app.add_subcommand("evaluate", "accuracy, log-loss, confusion matrix and per-class metrics of a model on labeled data");
  c->add_option("--model", a.model, "the model file (from simdnn train)")->required()->type_name("MODEL");
  add_data_options(*c, a.data, "labeled data: a CSV file (text labels are the model's class names) or IDX images");
  c->add_flag("--json", a.json, "print one JSON object instead of tables");
  return c;
}

CLI::App* add_predict_command(CLI::App& app, PredictArgs& a) {
  CLI::App* c = app.add_subcommand("predict", "class and class probabilities of every row, as CSV");
  c->add_option("--model", a.model, "the model file (from simdnn train)")->required()->type_name("MODEL");
  add_data_options(*c, a.data,
                   "inputs: a CSV file with the model's input width (no label column), or one more column "
                   "holding a label (the last, or --label), which is ignored; or IDX images",
                   false);
  c->add_option("--out", a.out, "the CSV file to write (default: stdout)")->type_name("FILE");
  return c;
}

int run_evaluate(const EvaluateArgs& a) {
  const Model model = load_model_file(a.model, "--model");
  require_classifier(model, a.model, "evaluate");
  const LabeledData data = load_evaluation_data(a, model);
  const Tensor proba = predict_proba(model, data.features.cview());
  const std::vector<std::int32_t> predicted = predict_classes(model, data.features.cview());
  const ClassificationReport report = classification_report(data.labels, predicted, model.num_classes());
  const double loss = log_loss(data.labels, proba.cview());
  const std::vector<std::string> names = display_names(model);
  if (a.json) {
    std::printf("%s\n", report_json(a, report, loss, names).dump().c_str());
  } else {
    print_report(a, report, loss, names);
  }
  return kExitOk;
}

int run_predict(const PredictArgs& a) {
  if (!a.out.empty()) check_output_path(a.out, "--out");
  const Model model = load_model_file(a.model, "--model");
  const Tensor x = load_inputs(a.data, model.input_width());
  check_width(x.cview(), model.input_width(), "--data", a.data.data);
  const std::string csv = predictions_csv(model, x.cview());
  if (a.out.empty()) {
    if (std::fwrite(csv.data(), 1, csv.size(), stdout) != csv.size() || std::fflush(stdout) != 0) {
      throw CliError("stdout: cannot write the predictions");
    }
  } else {
    write_file_atomically(a.out, csv, "--out");
  }
  return kExitOk;
}

}  // namespace simdnn::cli
