#include "rtml/learn/prediction_log.h"

#include "rtml/core/error.h"
#include "rtml/core/hash.h"

namespace rtml {

std::string_view label_refusal_text(LabelRefusal r) {
  switch (r) {
    case LabelRefusal::kNone:
      return "";
    case LabelRefusal::kUnknown:
      return "no prediction was made for this event id (or it is too old to remember)";
    case LabelRefusal::kExpired:
      return "the prediction for this event id expired before its label came";
    case LabelRefusal::kAlreadyLabelled:
      return "this event id was labelled before";
  }
  return "?";
}

PredictionLog::PredictionLog(Limits limits)
    : limits_(limits),
      slot_mask_((limits.max_entries & (limits.max_entries - 1)) == 0 ? limits.max_entries - 1 : 0),
      slots_(limits.max_entries) {
  if (limits_.max_entries == 0 || limits_.max_entries > kMaxEntries) {
    throw Error("a prediction log holds from 1 to " + std::to_string(kMaxEntries) + " entries");
  }
  if (!(limits_.ttl > 0)) throw Error("a prediction log's TTL must be positive");
  table_.assign(16, kEmptyEntry);
}

uint64_t PredictionLog::hash_of(EventId id) {
  if (!id.text.empty()) return hash64(id.text, 0x6576656e74);
  // A numeric id mixed, apart from the text ids' hashes.
  return mix64(id.number + 0x9e3779b97f4a7c15ull) ^ 1;
}

uint32_t PredictionLog::find(EventId id, uint64_t hash, size_t* at) const {
  const size_t mask = table_.size() - 1;
  const bool text = !id.text.empty();
  const uint64_t tag = tag_of(hash);
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const uint64_t e = table_[i];
    const auto index = static_cast<uint32_t>(e);
    if (index != kEmpty) {
      // The tag (the hash's low 32 bits, kept in the table) spares most probes a load of
      // the slot, a cache miss of its own.
      if ((e & ~uint64_t{0xffffffff}) != tag) continue;
      const Slot& s = slots_[index];
      if (s.hash != hash || s.text != text ||
          (text ? s.id_text != id.text : s.id_number != id.number)) {
        continue;
      }
    }
    *at = i;
    return index;
  }
}

size_t PredictionLog::place_of(uint64_t hash, uint32_t index) const {
  // The entry of a slot is found by the slot's index, not its id: no load of the slot's
  // id (a cache miss of its own, anywhere in memory) to compare.
  const size_t mask = table_.size() - 1;
  const uint64_t entry = tag_of(hash) | index;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    if (table_[i] == entry) return i;
    if (table_[i] == kEmptyEntry) return kNoPlace;
  }
}

void PredictionLog::erase_at(size_t i) {
  // Backward-shift deletion: entries after i that probed past it move back, so that no
  // probe meets a hole before its entry.
  const size_t mask = table_.size() - 1;
  for (size_t j = (i + 1) & mask; table_[j] != kEmptyEntry; j = (j + 1) & mask) {
    size_t home = (table_[j] >> 32) & mask;
    bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      table_[i] = table_[j];
      i = j;
    }
  }
  table_[i] = kEmptyEntry;
  --table_used_;
}

void PredictionLog::grow_table() {
  std::vector<uint64_t, HugePageAllocator<uint64_t>> old(table_.size() * 2, kEmptyEntry);
  old.swap(table_);
  const size_t mask = table_.size() - 1;
  for (uint64_t e : old) {
    if (e == kEmptyEntry) continue;
    size_t i = (e >> 32) & mask;
    while (table_[i] != kEmptyEntry) i = (i + 1) & mask;
    table_[i] = e;
  }
}

void PredictionLog::fetch_ahead() const {
  const size_t max = limits_.max_entries;
  if (slots_.size() < max || max < 64) return;
  // A full log: each log makes the oldest entry leave and takes its slot. The slots are
  // used in order, but the oldest entry's place in the table, and its features' buffers
  // (which the new entry's are copied into), are anywhere in memory: a cache miss each.
  // They are fetched some logs ahead, from the slot fetched some logs before that.
  const Slot& near = slots_[slot_of(next_seq_ + 24)];
  __builtin_prefetch(&table_[near.hash & (table_.size() - 1)]);
  __builtin_prefetch(near.entry.x.numbers().data(), 1);
  __builtin_prefetch(near.entry.prediction.proba.data(), 1);
  __builtin_prefetch(near.id_text.data(), 1);  // the new id is written there
  const char* far = reinterpret_cast<const char*>(&slots_[slot_of(next_seq_ + 48)]);
  for (size_t b = 0; b < sizeof(Slot); b += 64) __builtin_prefetch(far + b, 1);
}

void PredictionLog::leave(Slot& s, State to) {
  if (s.state == State::kWaiting) {
    --waiting_;
    if (to == State::kExpired) ++expired_;
  }
  s.state = to;
}

bool PredictionLog::log(EventId id, uint64_t hash, double time, const Features& x,
                        const Prediction& p, std::string_view record) {
  size_t at;
  if (find(id, hash, &at) != kEmpty) return false;
  const auto index = static_cast<uint32_t>(slot_of(next_seq_));
  fetch_ahead();
  if (index == slots_.size()) {
    slots_.emplace_back();  // the first lap: memory follows use
  } else {
    // The oldest entry makes room, and its id is forgotten.
    Slot& old = slots_[index];
    if (const size_t place = place_of(old.hash, index); place != kNoPlace) erase_at(place);
    leave(old, State::kExpired);
  }
  if ((table_used_ + 1) * 2 > table_.size()) grow_table();
  find(id, hash, &at);  // the place may have moved
  Slot& s = slots_[index];
  s.state = State::kWaiting;
  s.text = !id.text.empty();
  if (s.text) {
    s.id_text.assign(id.text);
  } else {
    s.id_number = id.number;
  }
  s.hash = hash;
  s.entry.time = time;
  s.entry.x.assign(x);
  s.entry.prediction = p;
  s.entry.record.assign(record);
  table_[at] = tag_of(hash) | index;
  ++table_used_;
  ++waiting_;
  ++next_seq_;
  if (expire_seq_ < first_seq()) expire_seq_ = first_seq();
  return true;
}

const PredictionLog::Entry* PredictionLog::take(EventId id, double now, LabelRefusal* why) {
  size_t at;
  uint32_t index = find(id, hash_of(id), &at);
  LabelRefusal refusal = LabelRefusal::kNone;
  Slot* s = index == kEmpty ? nullptr : &slots_[index];
  if (!s) {
    refusal = LabelRefusal::kUnknown;
  } else if (s->state == State::kLabelled) {
    refusal = LabelRefusal::kAlreadyLabelled;
  } else if (s->state == State::kExpired) {
    refusal = LabelRefusal::kExpired;
  } else if (now - s->entry.time > limits_.ttl) {
    leave(*s, State::kExpired);
    refusal = LabelRefusal::kExpired;
  }
  if (why) *why = refusal;
  if (refusal != LabelRefusal::kNone) return nullptr;
  leave(*s, State::kLabelled);
  return &s->entry;
}

void PredictionLog::expire(double now) {
  if (limits_.ttl == std::numeric_limits<double>::infinity()) return;
  const double cutoff = now - limits_.ttl;
  for (; expire_seq_ < next_seq_; ++expire_seq_) {
    Slot& s = slots_[slot_of(expire_seq_)];
    if (s.state == State::kWaiting) {
      if (!(s.entry.time < cutoff)) break;
      leave(s, State::kExpired);
    }
  }
}

void PredictionLog::save(BinaryWriter& w) const {
  w.put<uint64_t>(limits_.max_entries);
  w.put<double>(limits_.ttl);
  w.put<uint64_t>(next_seq_);
  w.put<uint64_t>(expire_seq_);
  w.put<uint64_t>(expired_);
  for (uint64_t seq = first_seq(); seq < next_seq_; ++seq) {
    const Slot& s = slots_[slot_of(seq)];
    w.put<uint8_t>(static_cast<uint8_t>(s.state));
    w.put<uint8_t>(s.text);
    if (s.text) {
      w.put_string(s.id_text);
    } else {
      w.put<uint64_t>(s.id_number);
    }
    w.put<double>(s.entry.time);
    const Features& x = s.entry.x;
    w.put_vector(std::vector<Feature>(x.numbers().begin(), x.numbers().end()));
    w.put_vector(std::vector<Category>(x.categories().begin(), x.categories().end()));
    w.put_vector(std::vector<uint64_t>(x.hashed_categories().begin(), x.hashed_categories().end()));
    const Prediction& p = s.entry.prediction;
    w.put<double>(p.value);
    w.put_vector(p.proba);
    w.put<uint32_t>(p.label);
    w.put<uint8_t>(p.has_label);
    w.put_string(s.entry.record);
  }
}

void PredictionLog::load(BinaryReader& r) {
  const auto max_entries = r.get<uint64_t>();
  const auto ttl = r.get<double>();
  if (max_entries != limits_.max_entries || !(ttl == limits_.ttl)) {
    throw Error(r.source() + ": the prediction log was saved with at most " +
                std::to_string(max_entries) + " entries and a TTL of " + std::to_string(ttl) +
                ", not " + std::to_string(limits_.max_entries) + " and " +
                std::to_string(limits_.ttl));
  }
  next_seq_ = r.get<uint64_t>();
  expire_seq_ = r.get<uint64_t>();
  expired_ = r.get<uint64_t>();
  const uint64_t first = first_seq();
  if (expire_seq_ > next_seq_) r.fail("expiry position");
  slots_.assign(static_cast<size_t>(next_seq_ - first));
  size_t table = 16;
  while (table < slots_.size() * 2 + 2) table *= 2;
  table_.assign(table, kEmptyEntry);
  table_used_ = 0;
  waiting_ = 0;
  for (uint64_t seq = first; seq < next_seq_; ++seq) {
    const auto index = static_cast<uint32_t>(slot_of(seq));
    Slot& s = slots_[index];
    auto state = r.get<uint8_t>();
    if (state > static_cast<uint8_t>(State::kExpired)) r.fail("entry state");
    s.state = static_cast<State>(state);
    s.text = r.get<uint8_t>() != 0;
    if (s.text) {
      s.id_text = r.get_string();
      if (s.id_text.empty()) r.fail("empty event id");
    } else {
      s.id_number = r.get<uint64_t>();
    }
    s.hash = hash_of(s.id());
    s.entry.time = r.get<double>();
    s.entry.x.clear();
    for (const Feature& f : r.get_vector<Feature>()) s.entry.x.add(f.index, f.value);
    for (const Category& c : r.get_vector<Category>()) s.entry.x.add_category(c.column, c.id);
    for (uint64_t h : r.get_vector<uint64_t>()) s.entry.x.add_hashed_category(h);
    Prediction& p = s.entry.prediction;
    p.value = r.get<double>();
    p.proba = r.get_vector<double>();
    p.label = r.get<uint32_t>();
    p.has_label = r.get<uint8_t>() != 0;
    s.entry.record = r.get_string();
    size_t at;
    if (find(s.id(), s.hash, &at) != kEmpty) r.fail("repeated event id");
    table_[at] = tag_of(s.hash) | index;
    ++table_used_;
    if (s.state == State::kWaiting) ++waiting_;
  }
}

}  // namespace rtml
