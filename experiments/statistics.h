// The statistics repro's notes use to call a difference between two conditions significant or not.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace simdnn::repro {

double mean(const std::vector<double>& v);
// The sample standard deviation (n − 1); NaN for fewer than 2 values.
double sample_sd(const std::vector<double>& v);

// A paired t-test of b − a over seeds: t = mean(d) / (sd(d)/√n) with n − 1 degrees of freedom,
// against Student's two-sided 5 % critical value (tabulated to 30 degrees of freedom; beyond,
// that of 30, slightly conservative). df = 0 for one seed or unequal lengths; t is infinite or
// NaN when every difference is the same.
struct PairedT {
  double t = 0.0, critical = 0.0;
  std::size_t df = 0;
  bool significant() const;
};
PairedT paired_t_test(const std::vector<double>& a, const std::vector<double>& b);

// "+0.0123 (paired t-test over 5 seeds: t = 2.91, two-sided 5 % critical value 2.776:
// significant)": mean(b) − mean(a) and the test's verdict, or why there is none.
std::string difference_text(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace simdnn::repro
