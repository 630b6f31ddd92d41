// Batch and BatchQueue: decoded rows handed from the decoding thread to the learning
// thread in blocks, so that the two overlap.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "rtml/core/row.h"

namespace rtml::cli {

// A block of decoded rows handed from the decoding thread to the learning thread.
struct Batch {
  static constexpr size_t kRows = 2048;
  struct Cell {
    ValueKind kind;
    double number;
    uint32_t offset, length;  // text in arena
  };
  std::vector<Cell> cells;
  std::vector<uint32_t> widths;
  std::vector<uint64_t> lines;
  std::string arena;
  std::vector<Column> columns;  // set when the source's columns grew
  bool has_columns = false;

  void clear() {
    cells.clear();
    widths.clear();
    lines.clear();
    arena.clear();
    has_columns = false;
  }
  void add(const Row& row) {
    for (const Value& v : row.values) {
      Cell c{v.kind, v.number, 0, 0};
      if (v.kind == ValueKind::kText) {
        c.offset = static_cast<uint32_t>(arena.size());
        c.length = static_cast<uint32_t>(v.text.size());
        arena.append(v.text);
      }
      cells.push_back(c);
    }
    widths.push_back(static_cast<uint32_t>(row.values.size()));
    lines.push_back(row.line);
  }
};

// A bounded hand-off of batches between one producer and one consumer.
class BatchQueue {
 public:
  explicit BatchQueue(size_t n) : pool_(n) {
    for (auto& b : pool_) free_.push_back(&b);
  }
  Batch* take_free() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty() || stopped_; });
    if (stopped_) return nullptr;
    Batch* b = free_.front();
    free_.pop_front();
    return b;
  }
  void push_full(Batch* b) {
    {
      std::lock_guard lock(mu_);
      full_.push_back(b);
    }
    cv_.notify_all();
  }
  // Returns nullptr at the end of the stream.
  Batch* take_full() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !full_.empty() || done_; });
    if (full_.empty()) return nullptr;
    Batch* b = full_.front();
    full_.pop_front();
    return b;
  }
  void give_back(Batch* b) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(b);
    }
    cv_.notify_all();
  }
  void finish(std::exception_ptr error) {
    {
      std::lock_guard lock(mu_);
      done_ = true;
      error_ = error;
    }
    cv_.notify_all();
  }
  // The consumer gave up: unblock the producer.
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  std::exception_ptr error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  std::vector<Batch> pool_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch*> free_, full_;
  bool done_ = false, stopped_ = false;
  std::exception_ptr error_;
};

}  // namespace rtml::cli
