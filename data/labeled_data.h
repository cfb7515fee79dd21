// LabeledData: a feature matrix and one integer class label per row, the unit every part of
// data/ (generators, readers, splits) passes around.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <simdnn/core/tensor.h>

namespace simdnn {

// features is n x d (one sample per row); labels has n entries, each a class index >= 0.
// class_names names the classes when the labels came from text (class c is class_names[c], e.g.
// read_csv with text labels); it is empty when the labels were numbers. Move-only, like Tensor.
struct LabeledData {
  Tensor features;
  std::vector<std::int32_t> labels;
  std::vector<std::string> class_names;  // empty, or one per class

  std::size_t size() const { return labels.size(); }
};

}  // namespace simdnn
