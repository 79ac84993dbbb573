#include "pactum/common/executor.hpp"

#include <pthread.h>

namespace pactum {

executor::executor(std::string name, size_t threads, size_t queue_limit)
  : name_(std::move(name)), limit_(queue_limit) {
  if (threads == 0)
    threads = 1;
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i] {
      auto thread_name = name_.substr(0, 12) + "-" + std::to_string(i);
      pthread_setname_np(pthread_self(), thread_name.substr(0, 15).c_str());
      run();
    });
  }
  depth_metric_ = metrics::gauge_callback(
    "pactum_executor_queue_depth", "Jobs waiting in a bounded executor queue (pactum-db: the database pool).",
    {{"executor", name_}}, [this] { return static_cast<double>(queued()); });
}

executor::~executor() {
  stop();
}

bool executor::post(job fn) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_ || queue_.size() >= limit_)
      return false;
    queue_.push_back(std::move(fn));
  }
  cv_.notify_one();
  return true;
}

void executor::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_ && threads_.empty())
      return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
  threads_.clear();
}

size_t executor::queued() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return queue_.size();
}

void executor::run() {
  for (;;) {
    job fn;
    {
      std::unique_lock<std::mutex> guard{mtx_};
      cv_.wait(guard, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopping and drained
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();
  }
}

} // namespace pactum
