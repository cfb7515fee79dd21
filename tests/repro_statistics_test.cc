// The statistics behind repro's "significant" / "not significant": checked against values worked
// out by hand and Student's t table.
#include <gtest/gtest.h>

#include <cmath>

#include "experiments/statistics.h"

namespace simdnn::repro {
namespace {

TEST(ReproStatistics, MeanAndSampleStandardDeviation) {
  EXPECT_DOUBLE_EQ(mean({1.0, 2.0, 6.0}), 3.0);
  EXPECT_DOUBLE_EQ(sample_sd({1.0, 2.0, 6.0}), std::sqrt(7.0));  // (4 + 1 + 9) / 2
  EXPECT_TRUE(std::isnan(sample_sd({5.0})));
}

TEST(ReproStatistics, PairedTTestMatchesTheFormula) {
  // Differences 1, 2, 3: mean 2, sd 1, t = 2 / (1/√3) = 2√3 with 2 degrees of freedom.
  const PairedT t = paired_t_test({0.0, 0.0, 0.0}, {1.0, 2.0, 3.0});
  EXPECT_EQ(t.df, 2u);
  EXPECT_NEAR(t.t, 2.0 * std::sqrt(3.0), 1e-12);
  EXPECT_DOUBLE_EQ(t.critical, 4.303);
  EXPECT_FALSE(t.significant());  // 3.46 < 4.303
  // Differences 1.0, 1.1, 0.9, 1.0, 1.0: t = 1 / (0.0707/√5) ≈ 31.6 > 2.776.
  const PairedT big = paired_t_test({0, 0, 0, 0, 0}, {1.0, 1.1, 0.9, 1.0, 1.0});
  EXPECT_EQ(big.df, 4u);
  EXPECT_DOUBLE_EQ(big.critical, 2.776);
  EXPECT_TRUE(big.significant());
  // The sign follows b − a.
  EXPECT_LT(paired_t_test({1.0, 1.1, 0.9, 1.0, 1.0}, {0, 0, 0, 0, 0}).t, 0.0);
}

TEST(ReproStatistics, NoVerdictWithoutSpreadOrPairs) {
  EXPECT_EQ(paired_t_test({1.0}, {2.0}).df, 0u);
  EXPECT_EQ(paired_t_test({1.0, 2.0}, {2.0}).df, 0u);
  EXPECT_FALSE(paired_t_test({1.0}, {2.0}).significant());
  const PairedT same = paired_t_test({1.0, 2.0}, {2.0, 3.0});  // every difference 1: sd 0
  EXPECT_FALSE(std::isfinite(same.t));
  EXPECT_FALSE(same.significant());
  EXPECT_NE(difference_text({1.0, 2.0}, {2.0, 3.0}).find("the same on every seed"), std::string::npos);
  EXPECT_NE(difference_text({1.0}, {2.0}).find("one seed"), std::string::npos);
  EXPECT_EQ(difference_text({0, 0, 0}, {1.0, 2.0, 3.0}).rfind("+2.0000 (paired t-test over 3 seeds: t = 3.46", 0), 0u);
}

TEST(ReproStatistics, CriticalValueBeyondTheTableIsThatOf30) {
  std::vector<double> a(40, 0.0), b(40, 0.0);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<double>(i % 3);
  EXPECT_DOUBLE_EQ(paired_t_test(a, b).critical, 2.042);
}

}  // namespace
}  // namespace simdnn::repro
