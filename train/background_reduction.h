// BackgroundReduction: Collective::tree_sum of groups of tensors on a thread of its own, so that
// a data-parallel step reduces each layer's gradients while the backward pass computes the
// layers before it (train/trainer.h). Groups are reduced one after another in the order they
// were queued, which is the same on every rank; each is flattened into one message. Because
// tree_sum sums every element in the same tree however the vector is cut, reducing layer by
// layer gives exactly the bits of one reduction of everything.
#pragma once

#include <condition_variable>
#include <algorithm>
#include <cstddef>
#include <span>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <simdnn/core/tensor.h>
#include <simdnn/train/collective.h>

namespace simdnn::internal {

// Copies `tensors` end to end into `buffer`, calls op(buffer), and copies the result back: one
// collective call (one message) for many tensors.
template <class Op>
void through_flat(std::span<Tensor* const> tensors, std::vector<float>& buffer, const Op& op) {
  std::size_t length = 0;
  for (const Tensor* t : tensors) length += t->size();
  buffer.resize(length);
  float* at = buffer.data();
  for (const Tensor* t : tensors) at = std::copy(t->data(), t->data() + t->size(), at);
  op(std::span<float>(buffer));
  at = buffer.data();
  for (Tensor* t : tensors) {
    std::copy(at, at + t->size(), t->data());
    at += t->size();
  }
}

class BackgroundReduction {
 public:
  // `collective` must allow background calls (Collective::background_calls()).
  explicit BackgroundReduction(Collective& collective);
  ~BackgroundReduction();
  BackgroundReduction(const BackgroundReduction&) = delete;
  BackgroundReduction& operator=(const BackgroundReduction&) = delete;

  // Queues the tree sum of these tensors over the ranks (in place). They must stay alive and
  // untouched by the caller until finish() returns.
  void enqueue(std::vector<Tensor*> group);
  // Waits until every queued group is reduced; rethrows the first error of the thread (and
  // drops the groups still queued after it).
  void finish();

 private:
  void run();

  Collective& collective_;
  std::mutex mutex_;
  std::condition_variable work_, done_;
  std::deque<std::vector<Tensor*>> queue_;
  std::size_t busy_ = 0;  // groups taken from the queue and not yet reduced
  bool stop_ = false;
  std::exception_ptr error_;
  std::vector<float> flat_;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace simdnn::internal
