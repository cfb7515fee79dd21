// The settings of an experiment that `repro NAME --SETTING VALUE` changes. Each experiment
// declares its own (name, kind, default, help) in its ExperimentInfo; repro's command line offers
// them as options of that experiment, `repro NAME --help` lists them with their defaults, and the
// experiment reads them through Experiment::settings(). A value is checked before anything runs:
// a bad one is a usage error (exit status 2).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace simdnn::repro {

struct Setting {
  enum class Kind {
    count,        // an integer >= 1 (epochs, batch size, width)
    positive,     // a real number > 0 (learning rate)
    nonnegative,  // a real number >= 0 (penalty strength)
    probability,  // a real number in [0, 1) (dropout rate)
    choice,       // one of `choices`
  };
  std::string name;  // the option without "--": "epochs"
  Kind kind = Kind::count;
  std::string help;
  double value = 0.0;         // the default of a number
  double quick_value = -1.0;  // its default under --quick, where that differs (else -1)
  std::string choice;         // the default of a choice
  std::vector<std::string> choices;
};

// The shortest text that reads back as v: "0.01", "500", "1e-05".
std::string shortest(double v);

// The default as --help shows it: "500 (10 with --quick)", "0.01", "sgd".
std::string default_text(const Setting& s);

// Checks a value given on the command line; throws std::invalid_argument naming the option, what
// it expects and what it got ("--lr: expected a number > 0, got \"-1\"").
void check_setting(const Setting& s, const std::string& text);

// The settings of one run: those the experiment declares, with the values given for them.
class Settings {
 public:
  Settings() = default;
  // Throws std::invalid_argument for a given name that is not declared or a value check_setting
  // refuses.
  Settings(std::vector<Setting> declared, std::map<std::string, std::string> given, bool quick);

  // Each throws std::logic_error when the experiment reads a setting it did not declare, or
  // reads it as another kind: a bug of the experiment, not of the user.
  std::size_t count(const std::string& name) const;
  double real(const std::string& name) const;  // positive, nonnegative, probability
  const std::string& choice(const std::string& name) const;

  bool changed(const std::string& name) const { return given_.count(name) != 0; }
  // The given values as options, in declaration order ("--lr 0.05 --epochs 20"); "" if none.
  std::string changed_text() const;

 private:
  const Setting& find(const std::string& name) const;

  std::vector<Setting> declared_;
  std::map<std::string, std::string> given_;
  bool quick_ = false;
};

}  // namespace simdnn::repro
