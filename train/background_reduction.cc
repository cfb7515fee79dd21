#include <simdnn/train/background_reduction.h>

#include <utility>

namespace simdnn::internal {

BackgroundReduction::BackgroundReduction(Collective& collective)
    : collective_(collective), thread_([this] { run(); }) {}

BackgroundReduction::~BackgroundReduction() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_.notify_all();
  thread_.join();
}

void BackgroundReduction::enqueue(std::vector<Tensor*> group) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(group));
  }
  work_.notify_one();
}

void BackgroundReduction::finish() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return (queue_.empty() && busy_ == 0) || error_ != nullptr; });
  if (error_ != nullptr) {
    queue_.clear();
    done_.wait(lock, [this] { return busy_ == 0; });
    std::rethrow_exception(std::exchange(error_, nullptr));
  }
}

void BackgroundReduction::run() {
  for (;;) {
    std::vector<Tensor*> group;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;  // what is still queued is dropped (the step failed)
      group = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    try {
      through_flat(group, flat_, [this](std::span<float> v) { collective_.tree_sum(v); });
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error_ == nullptr) error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --busy_;
    }
    done_.notify_all();
  }
}

}  // namespace simdnn::internal
