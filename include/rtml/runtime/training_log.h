// TrainingLog: the events a model learned from, kept beside the store, bounded.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace rtml::runtime {

// Keeps the last learned events as JSON Lines in a folder (the store's DIR/training/):
// one flat object per event with the fields it was predicted from (its own and those
// read from the store, as they were then) and its label, in the order they were learned.
// A new or changed model can start from them (rtml run's warm_start), and `rtml store
// export` writes them out for offline work.
//
// Bounded by count (`keep` events) and by event time (`window` seconds before the
// newest): records go to segment files of a quarter of the bound each, and a segment
// leaves whole once everything in it is out of bounds, so up to a quarter more than the
// bound may be kept. Appends are write(2)s, not fsynced: a power loss can cost the last
// records, a kill cannot; a torn last line is skipped on reading. One writer at a time
// (the store's folder lock); not thread-safe.
class TrainingLog {
 public:
  struct Limits {
    uint64_t keep = 100000;                                   // events; 0: no bound by count
    double window = std::numeric_limits<double>::infinity();  // seconds of event time
  };
  // Where a log stood: its newest segment and that segment's size, for a checkpoint.
  struct Position {
    uint64_t segment = 0;
    uint64_t bytes = 0;
  };

  // Opens (creating) the log in dir. Throws Error naming dir if it cannot.
  TrainingLog(std::string dir, Limits limits);
  ~TrainingLog();
  TrainingLog(const TrainingLog&) = delete;
  TrainingLog& operator=(const TrainingLog&) = delete;

  // Appends one record: a JSON object whose first key is "_time" (its event time, by
  // which the window bound counts), no newline. Throws Error naming the file if it
  // cannot be written.
  void append(std::string_view record);
  // fsyncs the segment being written (a checkpoint records its size).
  void sync();
  // No segment from `segment` on is removed by the bounds (a checkpoint's position
  // must stay in the log until the next checkpoint).
  void pin(uint64_t segment) { pinned_ = segment; }

  // Where the log stands now (everything appended is in the OS's hands).
  Position position() const { return {segment_, bytes_}; }
  // Cuts the log back to a position it had (removing what came after), for a run
  // resumed from a checkpoint. Throws Error if the position is not in the log.
  void truncate_to(Position p);

  // Calls fn with each record, oldest first (torn or empty lines skipped).
  static void read(const std::string& dir, const std::function<void(std::string_view)>& fn);

 private:
  void open_segment(uint64_t n, bool truncate);
  void prune();
  // Reads the segments' counts and times from the folder.
  void scan();

  std::string dir_;
  Limits limits_;
  int fd_ = -1;
  uint64_t segment_ = 0;  // the newest segment's number
  uint64_t bytes_ = 0;    // its size
  uint64_t pinned_ = UINT64_MAX;
  struct Segment {
    uint64_t number;
    uint64_t records;
    double first_time, last_time;
  };
  std::vector<Segment> segments_;  // oldest first; the last is the one written
};

}  // namespace rtml::runtime
