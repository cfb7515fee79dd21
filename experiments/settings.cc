#include "experiments/settings.h"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

#include "experiments/report.h"

namespace simdnn::repro {
namespace {

// Largest count accepted: far beyond any sensible epochs or width, small enough to allocate.
constexpr std::size_t kMaxCount = 1'000'000;

bool whole(const std::string& text, double& out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return !text.empty() && ec == std::errc() && ptr == end && std::isfinite(out);
}

const char* expected(Setting::Kind kind) {
  switch (kind) {
    case Setting::Kind::count: return "an integer from 1 to 1000000";
    case Setting::Kind::positive: return "a number > 0";
    case Setting::Kind::nonnegative: return "a number >= 0";
    case Setting::Kind::probability: return "a number in [0, 1)";
    case Setting::Kind::choice: return "one of";
  }
  return "?";
}

}  // namespace

std::string shortest(double v) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), v);
  return ec == std::errc() ? std::string(buffer, end) : fmt(v, 6);
}

std::string default_text(const Setting& s) {
  if (s.kind == Setting::Kind::choice) return s.choice;
  std::string text = shortest(s.value);
  if (s.quick_value >= 0.0 && s.quick_value != s.value) text += " (" + shortest(s.quick_value) + " with --quick)";
  return text;
}

void check_setting(const Setting& s, const std::string& text) {
  double v = 0.0;
  bool ok = false;
  std::string what = expected(s.kind);
  switch (s.kind) {
    case Setting::Kind::count: {
      std::size_t n = 0;
      const char* end = text.data() + text.size();
      const auto [ptr, ec] = std::from_chars(text.data(), end, n);
      ok = !text.empty() && ec == std::errc() && ptr == end && n >= 1 && n <= kMaxCount;
      break;
    }
    case Setting::Kind::positive: ok = whole(text, v) && v > 0.0; break;
    case Setting::Kind::nonnegative: ok = whole(text, v) && v >= 0.0; break;
    case Setting::Kind::probability: ok = whole(text, v) && v >= 0.0 && v < 1.0; break;
    case Setting::Kind::choice:
      for (const std::string& c : s.choices) {
        ok = ok || c == text;
        what += std::string(what == "one of" ? " " : ", ") + c;
      }
      break;
  }
  if (!ok) throw std::invalid_argument("--" + s.name + ": expected " + what + ", got \"" + text + "\"");
}

Settings::Settings(std::vector<Setting> declared, std::map<std::string, std::string> given, bool quick)
    : declared_(std::move(declared)), given_(std::move(given)), quick_(quick) {
  for (const auto& [name, text] : given_) {
    bool declared_name = false;
    for (const Setting& d : declared_) {
      if (d.name != name) continue;
      check_setting(d, text);
      declared_name = true;
    }
    if (!declared_name) throw std::invalid_argument("unknown setting --" + name);
  }
}

const Setting& Settings::find(const std::string& name) const {
  for (const Setting& s : declared_) {
    if (s.name == name) return s;
  }
  throw std::logic_error("the experiment reads the setting --" + name + ", which it does not declare");
}

std::size_t Settings::count(const std::string& name) const {
  const Setting& s = find(name);
  if (s.kind != Setting::Kind::count) throw std::logic_error("setting --" + name + " is not a count");
  if (auto it = given_.find(name); it != given_.end()) return std::stoul(it->second);
  return static_cast<std::size_t>(quick_ && s.quick_value >= 0.0 ? s.quick_value : s.value);
}

double Settings::real(const std::string& name) const {
  const Setting& s = find(name);
  if (s.kind == Setting::Kind::count || s.kind == Setting::Kind::choice) {
    throw std::logic_error("setting --" + name + " is not a real number");
  }
  if (auto it = given_.find(name); it != given_.end()) return std::stod(it->second);
  return quick_ && s.quick_value >= 0.0 ? s.quick_value : s.value;
}

const std::string& Settings::choice(const std::string& name) const {
  const Setting& s = find(name);
  if (s.kind != Setting::Kind::choice) throw std::logic_error("setting --" + name + " is not a choice");
  if (auto it = given_.find(name); it != given_.end()) return it->second;
  return s.choice;
}

std::string Settings::changed_text() const {
  std::string text;
  for (const Setting& s : declared_) {
    if (auto it = given_.find(s.name); it != given_.end()) text += (text.empty() ? "--" : " --") + s.name + " " + it->second;
  }
  return text;
}

}  // namespace simdnn::repro
