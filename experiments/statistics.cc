#include "experiments/statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "experiments/report.h"

namespace simdnn::repro {

double mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double sample_sd(const std::vector<double>& v) {
  if (v.size() < 2) return NAN;
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

bool PairedT::significant() const { return df > 0 && std::isfinite(t) && std::abs(t) > critical; }

PairedT paired_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  static constexpr double kCritical[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                         2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                         2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  PairedT out;
  if (a.size() < 2 || a.size() != b.size()) return out;
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = b[i] - a[i];
  out.df = d.size() - 1;
  out.t = mean(d) / (sample_sd(d) / std::sqrt(static_cast<double>(d.size())));
  out.critical = kCritical[std::min<std::size_t>(out.df, 30) - 1];
  return out;
}

std::string difference_text(const std::vector<double>& a, const std::vector<double>& b) {
  const double delta = mean(b) - mean(a);
  const std::string s = (delta >= 0 ? "+" : "") + fmt(delta, 4);
  const PairedT test = paired_t_test(a, b);
  if (test.df == 0) return s + " (one seed: no measure of the noise)";
  if (!std::isfinite(test.t)) return s + " (the same on every seed)";
  return s + " (paired t-test over " + std::to_string(test.df + 1) + " seeds: t = " + fmt(test.t, 2) +
         ", two-sided 5 % critical value " + fmt(test.critical, 3) + ": " +
         (test.significant() ? "significant" : "not significant") + ")";
}

}  // namespace simdnn::repro
