// Sequential: a chain of layers, each fed the previous one's output.
//
// forward runs the children in order; backward runs them in reverse, each given the gradient
// the next one returned. It owns its children. add() checks that the widths chain and names an
// unnamed child after its kind and position ("dense0", "batchnorm1"), so all_parameters() paths
// are unique; names given explicitly must be unique among the children. add() takes constant
// time (a hash of the children's names), so building a network is linear in its layer count.
// The names checked are those of the children when they were added, and the last child's current
// name (so `emplace<L>(...).set_name("x")` is seen); a child renamed later with at(i).set_name()
// is not checked again. A BatchNorm followed by a ReLU runs as one pass each way (relu_pair), and
// with a MaxPool2D after them as one forward pass (pooled_relu_pair); infer() fuses both the same
// way. So a caller who drives the children one by one runs their forward passes one by one too,
// not Sequential::forward, before calling their backward passes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <simdnn/layers/layer.h>

namespace simdnn {

class MaxPool2D;

class Sequential : public Layer {
 public:
  Sequential() = default;
  // add() for each layer in order.
  explicit Sequential(std::vector<std::unique_ptr<Layer>> layers);

  // Appends `layer` and returns it. Throws ShapeError if its input width differs from the last
  // layer's output width, std::invalid_argument for a null layer or a duplicate name.
  Layer& add(std::unique_ptr<Layer> layer);
  // add(std::make_unique<L>(args...)), returning the new layer with its type.
  template <class L, class... Args>
  L& emplace(Args&&... args) {
    auto layer = std::make_unique<L>(std::forward<Args>(args)...);
    L& ref = *layer;
    add(std::move(layer));
    return ref;
  }

  std::size_t size() const { return layers_.size(); }
  Layer& at(std::size_t i) { return *layers_.at(i); }
  const Layer& at(std::size_t i) const { return *layers_.at(i); }

  const char* kind() const override { return "sequential"; }
  bool supports_gradient_chunks() const override { return true; }
  // When every child supports them (and there is one). The calls pass through the children in
  // order (backward: in reverse), each child's output view the next one's input.
  bool supports_concurrent_chunks() const override;
  ConstMatrixView begin_chunks(ConstMatrixView x, std::span<const std::size_t> ends) override;
  void forward_chunk(std::size_t c) override;
  ConstMatrixView begin_backward_chunks(ConstMatrixView dy) override;
  void backward_chunk(std::size_t c) override;
  void end_chunks() override;
  void end_step() override { fuse_dense_relu_backward(false); }
  // Of the first and last layer; 0 when empty.
  std::size_t input_width() const override;
  std::size_t output_width() const override;

  // An empty Sequential throws std::logic_error.
  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  ConstMatrixView backward(ConstMatrixView dy) override;
  // backward(dy), calling after_child(i) as soon as child i's backward has returned (children
  // run last to first): its gradients are final then, so a data-parallel trainer can start
  // reducing them while the earlier children still run (train/trainer.h).
  ConstMatrixView backward(ConstMatrixView dy, const std::function<void(std::size_t child)>& after_child);
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;

  std::vector<Layer*> children() override;

 private:
  // Whether a child is named `name` (exact: a stale entry is verified against the children).
  bool name_taken(const std::string& name);
  // Whether children i and i + 1 are a BatchNorm (or BatchNorm2D) and a ReLU ActivationLayer,
  // which forward and infer() run as one pass (BatchNorm::forward_relu and infer_relu, the same
  // bits); backward then lets the norm's backward cover the ReLU's (when the norm's last forward
  // was that fused one). The ReLU child's own forward and backward are not called: its state is
  // that of its last own run.
  bool relu_pair(std::size_t i) const;
  // The MaxPool2D at i + 2 when children i, i + 1, i + 2 are a BatchNorm2D, a ReLU and a MaxPool2D
  // over the norm's shape (a ResNet's stem), which forward and infer() run as one pass
  // (BatchNorm2D::forward_relu_max_pool and infer_relu_max_pool, the same bits); else null. backward runs the pooling's
  // backward and then, as for relu_pair, the norm's.
  MaxPool2D* pooled_relu_pair(std::size_t i) const;
  // Sets (on) or clears (off) Dense's backward fusion (Dense::set_gate_input_gradient) on every
  // pair of children i - 1, i that are Dense layers, the first with a ReLU; clears it elsewhere.
  void fuse_dense_relu_backward(bool on);

  std::vector<std::unique_ptr<Layer>> layers_;
  // Name → index of the child, as added; the last child's entry is refreshed on each add().
  std::unordered_map<std::string, std::size_t> names_;
  std::string last_name_;  // the last child's name when it was recorded in names_
  std::size_t rows_ = 0;
  bool trained_forward_ = false;
};

}  // namespace simdnn
