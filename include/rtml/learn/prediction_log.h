// PredictionLog: what each prediction used, kept by event id until its label comes.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/features.h"
#include "rtml/core/huge_page_allocator.h"
#include "rtml/learn/model.h"

namespace rtml {

// An event's id: its own id field (text), or a number the engine assigned.
struct EventId {
  std::string_view text;  // empty: the id is `number`
  uint64_t number = 0;

  static EventId of_text(std::string_view t) { return EventId{t, 0}; }
  static EventId of_number(uint64_t n) { return EventId{{}, n}; }
  bool operator==(const EventId&) const = default;
};

// Why a label found no prediction to learn from.
enum class LabelRefusal : uint8_t {
  kNone,
  kUnknown,          // no prediction under this id among the last max_entries logged
  kExpired,          // its prediction is older than the TTL
  kAlreadyLabelled,  // a label for this id came before
};
std::string_view label_refusal_text(LabelRefusal r);

// Keeps, for each prediction, the features it was made with (after enrichment), until
// the label comes: the engine learns from those, never from features recomputed later
// (the training/serving skew a late label would otherwise bring).
//
// Entries leave when their label is taken, when they are older than the TTL in event
// time (expire() or take()), or when max_entries newer ones have been logged (then their
// id is forgotten too); an entry that leaves unlabelled is counted (expired()) and is
// never learned from. The ids of the last max_entries predictions are remembered after
// they leave, so that a second label, a label after expiry and a repeated event id are
// told apart from an unknown id.
// Expiry walks entries in the order they were logged, so an event whose time is out of
// order waits for those before it (take() still checks its age).
//
// Memory follows use: the entries grow as predictions wait, up to max_entries, each
// keeping its buffers, so a log that has reached its size allocates nothing per event
// (an id longer than any before, or an event with more features, excepted). Not
// thread-safe: the one thread that drives a model drives its log.
class PredictionLog {
 public:
  struct Limits {
    size_t max_entries = 1u << 20;
    // In the event time's unit (seconds); infinity: no TTL.
    double ttl = std::numeric_limits<double>::infinity();
  };
  // One logged prediction.
  struct Entry {
    double time = 0.0;
    Features x;
    Prediction prediction;
    std::string record;  // what the caller kept with it (the event as logged), if anything
  };

  explicit PredictionLog(Limits limits);

  // Logs the prediction p made at event time `time` from x under id. Returns false,
  // logging nothing, if id is one of the last max_entries ids logged (a repeated event).
  [[nodiscard]] bool log(EventId id, double time, const Features& x, const Prediction& p,
                         std::string_view record = {}) {
    return log(id, hash_of(id), time, x, p, record);
  }
  // As above, with id's hash_of() already computed (a caller that also asks knows()
  // hashes the id once).
  [[nodiscard]] bool log(EventId id, uint64_t hash, double time, const Features& x,
                         const Prediction& p, std::string_view record = {});

  // The hash the log keys id by.
  static uint64_t hash_of(EventId id);

  // Sets the record kept with the entry log() made last.
  void set_last_record(std::string_view record) {
    if (next_seq_ > 0) slots_[slot_of(next_seq_ - 1)].entry.record.assign(record);
  }

  // Starts fetching the table place of id into the cache, for a log() or take() of id a
  // little later: a caller that knows the ids to come (a batch) hides most of the cache
  // miss each lookup otherwise waits on. Changes nothing.
  void prefetch(EventId id) const { prefetch_hash(hash_of(id)); }
  // As prefetch(), for the id whose hash_of() is hash.
  void prefetch_hash(uint64_t hash) const {
    __builtin_prefetch(&table_[hash & (table_.size() - 1)]);
  }

  // True if id is one of the last max_entries ids logged (log() would refuse it).
  bool knows(EventId id) const { return knows(id, hash_of(id)); }
  // As above, with id's hash_of() already computed.
  bool knows(EventId id, uint64_t hash) const {
    size_t at;
    return find(id, hash, &at) != kEmpty;
  }

  // The entry logged under id, which leaves the log: valid until the next call to log().
  // nullptr if there is none to learn from, with the reason in *why. now is the event
  // time the label arrives at (for the TTL).
  const Entry* take(EventId id, double now, LabelRefusal* why);

  // Expires the entries older than now - ttl (in the order they were logged).
  void expire(double now);

  // Calls fn(id, entry) for each entry still waiting, oldest first.
  template <class Fn>
  void for_each_waiting(Fn&& fn) const {
    for (uint64_t seq = first_seq(); seq < next_seq_; ++seq) {
      const Slot& s = slots_[slot_of(seq)];
      if (s.state == State::kWaiting) fn(s.id(), s.entry);
    }
  }

  // Writes the whole log (entries, the ids it remembers, its counters) to w; load()
  // reads it back into a log with the same limits, which then behaves as this one would.
  void save(BinaryWriter& w) const;
  // Replaces this log's contents with what save() wrote. Throws Error if r holds a log
  // with other limits, or is damaged.
  void load(BinaryReader& r);

  size_t waiting() const { return waiting_; }
  uint64_t expired() const { return expired_; }
  const Limits& limits() const { return limits_; }

 private:
  enum class State : uint8_t { kWaiting, kLabelled, kExpired };
  struct Slot {
    State state = State::kExpired;
    bool text = false;
    std::string id_text;
    uint64_t id_number = 0;
    uint64_t hash = 0;
    Entry entry;
    EventId id() const { return text ? EventId::of_text(id_text) : EventId::of_number(id_number); }
  };
  // The slots, in chunks that never move: the first lap grows the log a chunk at a time,
  // with no copy of what it holds (a vector's doubling copied up to a million slots).
  class Slots {
   public:
    explicit Slots(size_t max_entries) {
      while (chunk_bits_ < 12 && (size_t{1} << chunk_bits_) < max_entries) ++chunk_bits_;
    }
    size_t size() const { return size_; }
    Slot& operator[](size_t i) { return chunks_[i >> chunk_bits_][i & mask()]; }
    const Slot& operator[](size_t i) const { return chunks_[i >> chunk_bits_][i & mask()]; }
    void emplace_back() {
      if ((size_ >> chunk_bits_) == chunks_.size()) {
        chunks_.push_back(std::make_unique<Slot[]>(size_t{1} << chunk_bits_));
      }
      ++size_;
    }
    // n slots, each as new.
    void assign(size_t n) {
      chunks_.clear();
      size_ = 0;
      while (size_ < n) emplace_back();
    }

   private:
    size_t mask() const { return (size_t{1} << chunk_bits_) - 1; }
    int chunk_bits_ = 0;  // at most 4,096 slots a chunk, fewer for a small log
    size_t size_ = 0;
    std::vector<std::unique_ptr<Slot[]>> chunks_;
  };
  static constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();
  // At most 2^31 entries, so that the table (twice as many places, a power of two) is
  // indexed by 32 bits: the tag below is where an entry's probe starts.
  static constexpr size_t kMaxEntries = size_t{1} << 31;
  static constexpr uint64_t kEmptyEntry = ~uint64_t{0};
  // A table entry: the hash's low 32 bits above the slot index.
  static uint64_t tag_of(uint64_t hash) { return (hash & 0xffffffffu) << 32; }

  // The slot of the log's seq-th entry: seq % max_entries, a mask where max_entries is a
  // power of two (a 64-bit division costs a log some 40 cycles, three times).
  size_t slot_of(uint64_t seq) const {
    return slot_mask_ ? seq & slot_mask_ : seq % limits_.max_entries;
  }
  uint64_t first_seq() const {
    return next_seq_ > limits_.max_entries ? next_seq_ - limits_.max_entries : 0;
  }
  // The slot holding id, or kEmpty; *at is its place in the table (or where it would go).
  uint32_t find(EventId id, uint64_t hash, size_t* at) const;
  // The table place of the entry for slot `index`, whose id hashes to hash; kNoPlace if
  // the table has none.
  static constexpr size_t kNoPlace = ~size_t{0};
  size_t place_of(uint64_t hash, uint32_t index) const;
  void erase_at(size_t at);
  void grow_table();
  void leave(Slot& s, State to);
  // Prefetches what the logs a few entries from now will touch (a full log).
  // noipa: a function of loads and prefetches only looks free of effects to GCC's
  // interprocedural analysis, which then deletes the call (and with it every prefetch).
  // Clang (the fuzzing build) knows no noipa; noinline keeps the call there.
#if defined(__clang__)
  [[gnu::noinline]] void fetch_ahead() const;
#else
  [[gnu::noipa]] void fetch_ahead() const;
#endif

  Limits limits_;
  uint64_t slot_mask_;  // max_entries - 1 if a power of two (above 1), else 0
  Slots slots_;         // slot of the log's seq-th entry: seq % max_entries
  // Open addressing, linear probing: tag | slot index. Read at random over up to 32 MiB:
  // in huge pages where the kernel allows, so that a lookup misses the cache, not the TLB.
  std::vector<uint64_t, HugePageAllocator<uint64_t>> table_;
  size_t table_used_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t expire_seq_ = 0;  // entries before it have been looked at by expire()
  size_t waiting_ = 0;
  uint64_t expired_ = 0;
};

}  // namespace rtml
