// repro: reproduces every demo, figure and comparison of the deep-networks notebook
// (described in docs/NOTEBOOK.md), correctly, and explains where a correct implementation
// disagrees with what the notebook prints. `repro all` writes REPORT.md linking everything.
//
// `repro NAME` writes NAME.md (the experiment's section: tables, figures, explanations) with its
// CSVs and figures; `repro NAME --help` lists the settings it takes (experiments/settings.h).
//
// Exit status: 0 success; 2 a usage error (an unknown experiment or option, a --seed outside
// 0..2^64-1 or a --threads outside 1..4096, a setting's value out of its range, malformed
// numbers), one line on stderr and nothing run; 1 an experiment failed.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <simdnn/core/cpu_info.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/threading.h>
#include "experiments/notebook_output.h"
#include "experiments/report.h"
#include "experiments/settings.h"

namespace simdnn::repro {
namespace {

// Renders every figure spec in out_dir with matplotlib, or says once why figures were skipped.
void render_figures(const std::filesystem::path& out_dir) {
  // plot.py ships with the binary (Bazel runfiles) or lies in the source tree.
  const std::filesystem::path script = find_shipped_file("experiments/plot.py");
  if (script.empty()) {
    std::cout << "repro: figures skipped (experiments/plot.py not found)" << std::endl;
    return;
  }
  // Debian's python3-matplotlib belongs to /usr/bin/python3, which may not be first on PATH.
  const std::string python = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  if (std::system((python + " -c 'import matplotlib' >/dev/null 2>&1").c_str()) != 0) {
    std::cout << "repro: figures skipped: python3 with matplotlib is not installed "
                 "(Debian: python3-matplotlib); tables and CSVs are written" << std::endl;
    return;
  }
  const std::string command = python + " '" + script.string() + "' '" + out_dir.string() + "'";
  if (std::system(command.c_str()) != 0) std::cout << "repro: plot.py failed; see its message above" << std::endl;
}

// Exit status for bad usage (an unknown experiment, a malformed or out-of-range value), as the
// simdnn command line: one line on stderr, nothing run. CLI11's own codes (104, 106, 109...) are
// not used.
constexpr int kExitUsage = 2;
// The most worker threads --threads accepts (a typo such as 100000 is refused, not obeyed).
constexpr int kMaxThreads = 4096;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `text` as a whole decimal number in [lo, hi]: no sign other than a leading '-' for signed
// types, no spaces, no trailing characters, no wrap-around. Throws UsageError naming the option
// and the value otherwise.
template <class T>
T parse_integer(const std::string& option, const std::string& text, T lo, T hi) {
  T value{};
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < lo || value > hi) {
    throw UsageError(option + ": \"" + text + "\" is not an integer from " + std::to_string(lo) + " to " +
                     std::to_string(hi));
  }
  return value;
}

void print_usage_error(const std::string& message) {
  std::string line = message;
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::cerr << "repro: " << line << " (see repro --help)" << std::endl;
}

// How REPORT.md names docs/NOTEBOOK.md, the account of the notebook and its numbered defects that
// the notes cite: a link relative to the output folder when the source tree is found (`bazel run`
// sets BUILD_WORKSPACE_DIRECTORY; otherwise the current directory, if it holds the file), else
// the file's path in the source tree, as text.
std::string notebook_doc_reference(const std::filesystem::path& out_dir) {
  std::vector<std::filesystem::path> roots;
  if (const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY"); ws != nullptr && *ws != '\0') roots.emplace_back(ws);
  std::error_code ec;
  if (std::filesystem::path cwd = std::filesystem::current_path(ec); !ec) roots.push_back(cwd);
  for (const std::filesystem::path& root : roots) {
    const std::filesystem::path doc = root / "docs" / "NOTEBOOK.md";
    if (!std::filesystem::is_regular_file(doc, ec)) continue;
    const std::string rel = std::filesystem::relative(doc, out_dir, ec).generic_string();
    if (ec || rel.empty()) continue;
    const bool plain = rel.find_first_of(" ()<>") == std::string::npos;
    return "[docs/NOTEBOOK.md](" + (plain ? rel : "<" + rel + ">") + ")";
  }
  return "`docs/NOTEBOOK.md` in the simdnn source tree";
}

void write_report(const RunOptions& options, const std::vector<std::string>& sections, double seconds) {
  std::ofstream out(options.out_dir / "REPORT.md");
  out << "# simdnn: the deep-networks notebook, reproduced\n\n"
      << "Generated by `repro all`" << (options.quick ? " --quick (reduced epochs and sizes)" : "") << ".\n\n"
      << "- Machine: " << simdnn::cpu_model() << ", " << std::thread::hardware_concurrency() << " hardware threads\n"
      << "- simdnn: ISA " << isa_name() << ", " << num_threads() << " threads\n"
      << "- Seed: " << options.seed << "\n"
      << "- Run time: " << static_cast<long>(seconds) << " s\n\n"
      << "Every table has a CSV beside it; figures are drawn from the CSVs by `experiments/plot.py`. "
      << "Where a number differs from what the notebook prints, the note beside the table says why "
      << "(\"docs/NOTEBOOK.md, defect N\"). What the notebook contains, each defect of its code with the "
      << "correct mathematics, and the section below that shows its effect: "
      << notebook_doc_reference(options.out_dir) << ".\n\n";
  for (const std::string& s : sections) out << s;
}

// The command line: CLI11's parser, with what it fills in. CLI11 keeps pointers to these members,
// so a CommandLine stays where it was made.
struct CommandLine {
  CLI::App app{"repro: reproduces the deep-networks notebook's demos, figures and comparisons"};
  std::string out_dir = "repro_out";
  // Both read as text and checked here: CLI11 would wrap --seed -1 or 2^64 to 2^64-1.
  std::string seed_text = std::to_string(RunOptions{}.seed);
  std::string threads_text;
  bool quick = false;
  std::string names;  // "activations, ..., all": the experiments, for messages
  // Each experiment's settings, as its own options (`repro NAME --help` lists them with their
  // defaults): given[experiment][setting] = the value as typed.
  std::map<std::string, std::map<std::string, std::string>> given;
  std::vector<std::pair<std::string, CLI::Option*>> setting_options;  // (experiment, its option)
};

// The options every experiment takes: --out, --seed, --quick, --threads.
void add_global_options(CommandLine& cl) {
  CLI::App& app = cl.app;
  app.fallthrough();
  app.add_option("-o,--out", cl.out_dir, "output folder (created if needed)")->capture_default_str();
  app.add_option("--seed", cl.seed_text, "seed of every random choice, 0 to 18446744073709551615")
      ->type_name("UINT64")
      ->capture_default_str();
  app.add_flag("--quick", cl.quick, "reduced epochs and sizes, for a first look and the smoke test");
  app.add_option("--threads", cl.threads_text,
                 "worker threads, 1 to " + std::to_string(kMaxThreads) + " (default: SIMDNN_NUM_THREADS or all cores)")
      ->type_name("INT");
  app.require_subcommand(1, 1);
}

// A subcommand per experiment, with its settings as options, and `all`.
void add_experiments(CommandLine& cl, const std::vector<ExperimentInfo>& experiments) {
  for (const ExperimentInfo& e : experiments) {
    CLI::App* sub = cl.app.add_subcommand(e.name, e.description);
    for (const Setting& setting : e.settings) {
      CLI::Option* option = sub->add_option("--" + setting.name, cl.given[e.name][setting.name],
                                            setting.help + " (default: " + default_text(setting) + ")");
      option->type_name(setting.kind == Setting::Kind::count    ? "INT"
                        : setting.kind == Setting::Kind::choice ? "NAME"
                                                                : "NUMBER");
      cl.setting_options.emplace_back(e.name, option);
    }
    cl.names += e.name + ", ";
  }
  cl.app.add_subcommand("all", "every experiment above, then REPORT.md and the figures");
  cl.names += "all";
}

// After parsing: the run's options, with the chosen experiment's settings checked as it will read
// them. Throws UsageError. Returns the --threads value (0 when not given).
int read_options(const CommandLine& cl, const std::vector<ExperimentInfo>& experiments, RunOptions& options) {
  options.quick = cl.quick;
  options.seed = parse_integer<std::uint64_t>("--seed", cl.seed_text, 0, std::numeric_limits<std::uint64_t>::max());
  const int threads = cl.threads_text.empty() ? 0 : parse_integer<int>("--threads", cl.threads_text, 1, kMaxThreads);
  const std::string chosen = cl.app.get_subcommands().front()->get_name();
  for (const auto& [experiment, option] : cl.setting_options) {
    if (experiment != chosen || option->count() == 0) continue;
    const std::string name = option->get_name().substr(2);  // without "--"
    options.settings[name] = cl.given.at(chosen).at(name);
  }
  for (const ExperimentInfo& e : experiments) {
    if (e.name != chosen) continue;
    try {
      Settings(e.settings, options.settings, options.quick);
    } catch (const std::invalid_argument& error) {
      throw UsageError(error.what());
    }
  }
  return threads;
}

// What CLI11 refused, as a usage error (exit 2), or --help (exit 0).
int report_parse_error(CommandLine& cl, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return cl.app.exit(e);  // --help
  // An argument that is neither an option nor an experiment: CLI11 only says that a subcommand
  // is required.
  if (cl.app.get_subcommands().empty()) {
    for (const std::string& arg : cl.app.remaining()) {
      if (!arg.empty() && arg[0] != '-') {
        print_usage_error("unknown experiment \"" + arg + "\", expected one of " + cl.names);
        return kExitUsage;
      }
    }
  }
  if (cl.app.get_subcommands().empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
    print_usage_error("an experiment is required, one of " + cl.names);
    return kExitUsage;
  }
  print_usage_error(e.what());
  return kExitUsage;
}

// Runs `chosen` (or every experiment for "all"), writing each section as NAME.md, then REPORT.md
// for "all", then the figures. Throws what an experiment throws.
void run_experiments(const RunOptions& options, const std::vector<ExperimentInfo>& experiments,
                     const std::string& chosen) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> sections;
  for (const ExperimentInfo& e : experiments) {
    if (chosen != "all" && chosen != e.name) continue;
    Experiment experiment(options, e.name, e.title, e.settings);
    const auto t0 = std::chrono::steady_clock::now();
    experiment.progress("running");
    e.run(experiment);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    experiment.progress("done in " + fmt(s, 1) + " s");
    std::ofstream section(options.out_dir / (e.name + ".md"));
    section << experiment.section();
    if (!section.flush()) throw std::runtime_error("cannot write " + (options.out_dir / (e.name + ".md")).string());
    sections.push_back(experiment.section());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (chosen == "all") write_report(options, sections, seconds);
  render_figures(options.out_dir);
  std::cout << "repro: wrote " << options.out_dir.string() << (chosen == "all" ? "/REPORT.md" : "") << " in "
            << fmt(seconds, 1) << " s" << std::endl;
}

}  // namespace
}  // namespace simdnn::repro

int main(int argc, char** argv) {
  using namespace simdnn::repro;
  CommandLine cl;
  const std::vector<ExperimentInfo> experiments = registered_experiments();
  add_global_options(cl);
  add_experiments(cl, experiments);
  RunOptions options;
  int threads = 0;
  try {
    cl.app.parse(argc, argv);
    threads = read_options(cl, experiments, options);
  } catch (const CLI::ParseError& e) {
    return report_parse_error(cl, e);
  } catch (const UsageError& e) {
    print_usage_error(e.what());
    return kExitUsage;
  }

  try {
    if (threads > 0) simdnn::set_num_threads(threads);
    // Under `bazel run`, relative paths are the user's, not the runfiles folder's.
    std::filesystem::path out = cl.out_dir;
    if (const char* wd = std::getenv("BUILD_WORKING_DIRECTORY"); wd != nullptr && out.is_relative()) out = std::filesystem::path(wd) / out;
    options.out_dir = out;
    run_experiments(options, experiments, cl.app.get_subcommands().front()->get_name());
  } catch (const std::exception& e) {
    std::cerr << "repro: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
