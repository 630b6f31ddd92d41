#include "rtml/features/aggregate_engine.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

#include "rtml/core/hash.h"
#include "rtml/core/huge_page_allocator.h"
#include "rtml/core/schema.h"

namespace rtml::features {
namespace {

constexpr int64_t kEmpty = std::numeric_limits<int64_t>::min();
constexpr uint32_t kNoKey = KeyIndex::kNone;

// Numeric state of one bucket; the meaning of n, a, b depends on the function.
struct NumBucket {
  int64_t index = kEmpty;
  double n = 0, a = 0, b = 0;
};

// HyperLogLog registers of one bucket.
struct HllBucket {
  int64_t index = kEmpty;
  std::vector<uint8_t> registers;
};

// Space-Saving summary of one bucket.
struct TopKBucket {
  int64_t index = kEmpty;
  std::vector<std::pair<std::string, double>> items;
};

// Bucket index of time t; clamped far inside int64 so that window arithmetic on it
// cannot overflow, even for an infinite watermark (no event yet).
int64_t floor_div(double t, double step) {
  double q = std::floor(t / step);
  constexpr double kLimit = 1e18;
  if (!(q > -kLimit)) return static_cast<int64_t>(-kLimit);
  if (q > kLimit) return static_cast<int64_t>(kLimit);
  return static_cast<int64_t>(q);
}

std::string_view as_text(const EventField& f, char* buf, size_t size) {
  if (!f.is_number()) return f.value.text;
  auto r = std::to_chars(buf, buf + size, f.value.number);
  return std::string_view(buf, r.ptr - buf);
}

double hll_estimate(const std::vector<uint8_t>& reg) {
  double m = static_cast<double>(reg.size());
  double sum = 0;
  int zeros = 0;
  for (uint8_t r : reg) {
    sum += std::ldexp(1.0, -r);
    zeros += r == 0;
  }
  double alpha = m == 16 ? 0.673 : m == 32 ? 0.697 : m == 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
  double e = alpha * m * m / sum;
  if (e <= 2.5 * m && zeros > 0) e = m * std::log(m / zeros);  // linear counting
  return e;
}

}  // namespace

// One aggregate: its spec, watermark, counters and per-entity state.
class AggregateEngine::Aggregate {
 public:
  explicit Aggregate(const AggregateSpec& s) : spec_(s) {
    if (s.window != WindowKind::kDecayed) {
      hop_ = s.hop_seconds;
      window_buckets_ = static_cast<int64_t>(std::llround(s.window_seconds / hop_));
      ring_ = static_cast<size_t>(std::ceil(s.keep_seconds / hop_) +
                                  std::ceil(s.lateness_seconds / hop_) + 1);
    }
  }

  void apply(uint32_t key, double t, const EventField& f) {
    if (t < watermark_ - spec_.lateness_seconds) {
      ++stats_.late_dropped;
      return;
    }
    bool numeric = spec_.function != AggregateFunction::kCount &&
                   spec_.function != AggregateFunction::kDistinct &&
                   spec_.function != AggregateFunction::kTopK;
    if (numeric && !f.is_number()) {
      ++stats_.wrong_type;
      return;
    }
    watermark_ = std::max(watermark_, t);
    ++stats_.applied;
    switch (spec_.window == WindowKind::kDecayed             ? 0
            : spec_.function == AggregateFunction::kDistinct ? 1
            : spec_.function == AggregateFunction::kTopK     ? 2
                                                             : 3) {
      case 0:
        apply_decayed(key, t, f.value.number);
        break;
      case 1:
        apply_distinct(key, t, f);
        break;
      case 2:
        apply_topk(key, t, f);
        break;
      default:
        apply_numeric(key, t, f.value.number);
    }
  }

  AggregateValue read(uint32_t key, std::optional<double> as_of) const {
    if (spec_.window == WindowKind::kDecayed) return read_decayed(key, as_of);
    // The last bucket of the window: the watermark's (now), or the one before t's.
    int64_t last = as_of ? floor_div(*as_of, hop_) - 1 : floor_div(watermark_, hop_);
    int64_t first = last - window_buckets_ + 1;
    if (as_of && first <= floor_div(watermark_, hop_) - static_cast<int64_t>(ring_)) return {};
    switch (spec_.function) {
      case AggregateFunction::kDistinct:
        return read_distinct(key, first, last);
      case AggregateFunction::kTopK:
        return read_topk(key, first, last);
      default:
        return read_numeric(key, first, last);
    }
  }

  const Stats& stats() const { return stats_; }
  double watermark() const { return watermark_; }

  void save(BinaryWriter& out) const {
    out.put(watermark_);
    out.put(stats_.applied);
    out.put(stats_.late_dropped);
    out.put(stats_.wrong_type);
    out.put_vector(numeric_);
    out.put<uint64_t>(distinct_.size());
    for (const auto& ring : distinct_) {
      out.put<uint64_t>(ring.size());
      for (const auto& b : ring) {
        out.put(b.index);
        out.put_vector(b.registers);
      }
    }
    out.put<uint64_t>(topk_.size());
    for (const auto& ring : topk_) {
      out.put<uint64_t>(ring.size());
      for (const auto& b : ring) {
        out.put(b.index);
        out.put<uint64_t>(b.items.size());
        for (const auto& [item, count] : b.items) {
          out.put_string(item);
          out.put(count);
        }
      }
    }
    out.put_vector(decayed_);
  }

  void load(BinaryReader& in) {
    watermark_ = in.get<double>();
    stats_.applied = in.get<uint64_t>();
    stats_.late_dropped = in.get<uint64_t>();
    stats_.wrong_type = in.get<uint64_t>();
    numeric_ = in.get_vector<NumBucket, HugePageAllocator<NumBucket>>();
    if (numeric_.size() % ring_ != 0) in.fail("aggregate ring size");
    // Counts from the file are checked against the bytes left before they size anything.
    const auto distinct_keys = in.get<uint64_t>();
    in.check_count(distinct_keys, 8, "aggregate key count");
    distinct_.assign(distinct_keys, {});
    for (auto& ring : distinct_) {
      auto n = in.get<uint64_t>();
      if (n != 0 && n != ring_) in.fail("aggregate ring size");
      in.check_count(n, 16, "aggregate ring size");
      ring.resize(n);
      for (auto& b : ring) {
        b.index = in.get<int64_t>();
        b.registers = in.get_vector<uint8_t>();
        if (b.index != kEmpty && b.registers.size() != (size_t{1} << spec_.precision)) {
          in.fail("distinct registers");
        }
      }
    }
    const auto topk_keys = in.get<uint64_t>();
    in.check_count(topk_keys, 8, "aggregate key count");
    topk_.assign(topk_keys, {});
    for (auto& ring : topk_) {
      auto n = in.get<uint64_t>();
      if (n != 0 && n != ring_) in.fail("aggregate ring size");
      in.check_count(n, 16, "aggregate ring size");
      ring.resize(n);
      for (auto& b : ring) {
        b.index = in.get<int64_t>();
        for (auto items = in.get<uint64_t>(); items > 0; --items) {
          std::string item = in.get_string();
          b.items.emplace_back(std::move(item), in.get<double>());
        }
      }
    }
    decayed_ = in.get_vector<Decayed>();
  }

 private:
  template <typename Bucket>
  Bucket* bucket(Bucket* ring, int64_t index) {
    size_t slot = static_cast<size_t>(((index % static_cast<int64_t>(ring_)) + ring_) % ring_);
    Bucket& b = ring[slot];
    if (b.index == index) return &b;
    if (b.index != kEmpty && b.index > index) return nullptr;  // overwritten by newer data
    reset(b);
    b.index = index;
    return &b;
  }
  void reset(NumBucket& b) {
    b.n = 0;
    b.a = spec_.function == AggregateFunction::kMin   ? INFINITY
          : spec_.function == AggregateFunction::kMax ? -INFINITY
                                                      : 0.0;
    b.b = spec_.function == AggregateFunction::kLast ? -INFINITY : 0.0;  // last: the event time
  }
  void reset(HllBucket& b) { b.registers.assign(size_t{1} << spec_.precision, 0); }
  void reset(TopKBucket& b) { b.items.clear(); }

  // The ring of key, created on first use. Entities index flat arrays by their id.
  NumBucket* numeric_ring(uint32_t key) {
    size_t need = (static_cast<size_t>(key) + 1) * ring_;
    if (numeric_.size() < need) numeric_.resize(need);
    return numeric_.data() + static_cast<size_t>(key) * ring_;
  }
  const NumBucket* numeric_ring(uint32_t key) const {
    if (key == kNoKey || numeric_.size() < (static_cast<size_t>(key) + 1) * ring_) return nullptr;
    return numeric_.data() + static_cast<size_t>(key) * ring_;
  }
  template <typename Bucket>
  Bucket* ring_of(std::vector<std::vector<Bucket>>& rings, uint32_t key) {
    if (rings.size() <= key) rings.resize(static_cast<size_t>(key) + 1);
    if (rings[key].empty()) rings[key].resize(ring_);
    return rings[key].data();
  }
  template <typename Bucket>
  const std::vector<Bucket>* ring_of(const std::vector<std::vector<Bucket>>& rings,
                                     uint32_t key) const {
    if (key == kNoKey || rings.size() <= key || rings[key].empty()) return nullptr;
    return &rings[key];
  }

  void apply_numeric(uint32_t key, double t, double x) {
    NumBucket* b = bucket(numeric_ring(key), floor_div(t, hop_));
    if (!b) {
      ++stats_.late_dropped;
      --stats_.applied;
      return;
    }
    switch (spec_.function) {
      case AggregateFunction::kCount:
        b->n += 1;
        break;
      case AggregateFunction::kSum:
        b->n += 1;
        b->a += x;
        break;
      case AggregateFunction::kMean:
        b->n += 1;
        b->a += x;
        break;
      case AggregateFunction::kMin:
        b->n += 1;
        b->a = std::min(b->a, x);
        break;
      case AggregateFunction::kMax:
        b->n += 1;
        b->a = std::max(b->a, x);
        break;
      case AggregateFunction::kVariance: {
        b->n += 1;
        double d = x - b->a;
        b->a += d / b->n;
        b->b += d * (x - b->a);
        break;
      }
      case AggregateFunction::kLast:
        b->n += 1;
        if (t >= b->b) {
          b->b = t;
          b->a = x;
        }
        break;
      default:
        break;
    }
  }

  AggregateValue read_numeric(uint32_t key, int64_t first, int64_t last) const {
    AggregateValue v;
    const NumBucket* ring = numeric_ring(key);
    double n = 0, a = 0, b = 0, last_time = -INFINITY;
    if (spec_.function == AggregateFunction::kMin) a = INFINITY;
    if (spec_.function == AggregateFunction::kMax) a = -INFINITY;
    if (ring) {
      for (const NumBucket& bk : std::span<const NumBucket>(ring, ring_)) {
        if (bk.index < first || bk.index > last || bk.n == 0) continue;
        switch (spec_.function) {
          case AggregateFunction::kMin:
            a = std::min(a, bk.a);
            break;
          case AggregateFunction::kMax:
            a = std::max(a, bk.a);
            break;
          case AggregateFunction::kVariance: {
            // Chan et al.'s parallel merge of (n, mean, m2).
            double total = n + bk.n;
            double d = bk.a - a;
            b += bk.b + d * d * n * bk.n / total;
            a += d * bk.n / total;
            break;
          }
          case AggregateFunction::kLast:
            if (bk.b >= last_time) {
              last_time = bk.b;
              a = bk.a;
            }
            break;
          default:
            a += bk.a;
        }
        n += bk.n;
      }
    }
    switch (spec_.function) {
      case AggregateFunction::kCount:
        v.present = true;
        v.number = n;
        break;
      case AggregateFunction::kSum:
        v.present = true;
        v.number = a;
        break;
      case AggregateFunction::kMean:
        v.present = n > 0;
        v.number = n > 0 ? a / n : 0;
        break;
      case AggregateFunction::kVariance:
        v.present = n > 1;
        v.number = n > 1 ? b / (n - 1) : 0;
        break;
      default:
        v.present = n > 0;
        v.number = n > 0 ? a : 0;
    }
    return v;
  }

  void apply_distinct(uint32_t key, double t, const EventField& f) {
    HllBucket* b = bucket(ring_of(distinct_, key), floor_div(t, hop_));
    if (!b) {
      ++stats_.late_dropped;
      --stats_.applied;
      return;
    }
    char buf[32];
    uint64_t h = hash64(as_text(f, buf, sizeof(buf)), 0x44);
    size_t idx = h >> (64 - spec_.precision);
    uint64_t rest = (h << spec_.precision) | (uint64_t{1} << (spec_.precision - 1));
    uint8_t rank = static_cast<uint8_t>(__builtin_clzll(rest) + 1);
    b->registers[idx] = std::max(b->registers[idx], rank);
  }

  AggregateValue read_distinct(uint32_t key, int64_t first, int64_t last) const {
    AggregateValue v;
    v.present = true;
    const auto* ring = ring_of(distinct_, key);
    if (!ring) return v;
    std::vector<uint8_t> merged(size_t{1} << spec_.precision, 0);
    bool any = false;
    for (const HllBucket& b : *ring) {
      if (b.index < first || b.index > last) continue;
      any = true;
      for (size_t i = 0; i < merged.size(); ++i) merged[i] = std::max(merged[i], b.registers[i]);
    }
    v.number = any ? std::round(hll_estimate(merged)) : 0;
    return v;
  }

  void apply_topk(uint32_t key, double t, const EventField& f) {
    TopKBucket* b = bucket(ring_of(topk_, key), floor_div(t, hop_));
    if (!b) {
      ++stats_.late_dropped;
      --stats_.applied;
      return;
    }
    char buf[32];
    std::string_view item = as_text(f, buf, sizeof(buf));
    for (auto& [name, count] : b->items) {
      if (name == item) {
        count += 1;
        return;
      }
    }
    size_t capacity = static_cast<size_t>(std::max(8, 4 * spec_.k));
    if (b->items.size() < capacity) {
      b->items.emplace_back(std::string(item), 1.0);
      return;
    }
    // Space-Saving: the new item takes the place of the least counted one.
    auto least = std::min_element(b->items.begin(), b->items.end(),
                                  [](const auto& x, const auto& y) { return x.second < y.second; });
    least->first.assign(item);
    least->second += 1;
  }

  AggregateValue read_topk(uint32_t key, int64_t first, int64_t last) const {
    AggregateValue v;
    v.present = true;
    const auto* ring = ring_of(topk_, key);
    if (!ring) return v;
    std::map<std::string, double> counts;
    for (const TopKBucket& b : *ring) {
      if (b.index < first || b.index > last) continue;
      for (const auto& [name, count] : b.items) counts[name] += count;
    }
    std::vector<std::pair<std::string, double>> sorted(counts.begin(), counts.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& x, const auto& y) { return x.second > y.second; });
    for (size_t i = 0; i < sorted.size() && i < static_cast<size_t>(spec_.k); ++i) {
      if (i) v.text += ',';
      v.text += sorted[i].first;
    }
    v.number = static_cast<double>(std::min(sorted.size(), static_cast<size_t>(spec_.k)));
    return v;
  }

  struct Decayed {
    double sum = 0, count = 0, time = -INFINITY;
  };
  double decay(double dt) const { return std::exp2(-dt / spec_.window_seconds); }

  void apply_decayed(uint32_t key, double t, double x) {
    if (decayed_.size() <= key) decayed_.resize(static_cast<size_t>(key) + 1);
    Decayed& d = decayed_[key];
    double value = spec_.function == AggregateFunction::kCount ? 1.0 : x;
    if (t >= d.time) {
      double f = d.time == -INFINITY ? 0.0 : decay(t - d.time);
      d.sum = d.sum * f + value;
      d.count = d.count * f + 1;
      d.time = t;
    } else {
      double f = decay(d.time - t);
      d.sum += value * f;
      d.count += f;
    }
  }

  AggregateValue read_decayed(uint32_t key, std::optional<double> as_of) const {
    AggregateValue v;
    double at = as_of ? *as_of : watermark_;
    if (key == kNoKey || key >= decayed_.size() || decayed_[key].time == -INFINITY) {
      v.present = spec_.function != AggregateFunction::kMean;
      return v;
    }
    const Decayed& d = decayed_[key];
    if (at < d.time) return v;  // the past before the last update is not kept
    double f = decay(at - d.time);
    if (spec_.function == AggregateFunction::kMean) {
      v.present = d.count > 0;
      v.number = d.count > 0 ? d.sum / d.count : 0;
    } else {
      v.present = true;
      v.number = (spec_.function == AggregateFunction::kCount ? d.count : d.sum) * f;
    }
    return v;
  }

  AggregateSpec spec_;
  double hop_ = 1;
  int64_t window_buckets_ = 1;
  size_t ring_ = 1;
  double watermark_ = -INFINITY;
  Stats stats_;
  // Per entity id: numeric rings laid end to end; the others one ring (or state) each.
  std::vector<NumBucket, HugePageAllocator<NumBucket>> numeric_;
  std::vector<std::vector<HllBucket>> distinct_;
  std::vector<std::vector<TopKBucket>> topk_;
  std::vector<Decayed> decayed_;
};

AggregateEngine::AggregateEngine(std::vector<AggregateSpec> specs) : specs_(std::move(specs)) {
  for (const auto& s : specs_) aggregates_.push_back(std::make_unique<Aggregate>(s));
}
AggregateEngine::~AggregateEngine() = default;
AggregateEngine::AggregateEngine(AggregateEngine&&) noexcept = default;

uint32_t AggregateEngine::key_id(std::string_view key) const { return keys_.find(key); }

void AggregateEngine::apply(std::string_view key, double time, std::span<const EventField> fields) {
  // One lookup per event, shared by every aggregate.
  uint32_t id = keys_.intern(key);
  for (size_t i = 0; i < specs_.size(); ++i) {
    for (const EventField& f : fields) {
      if (f.name == specs_[i].field) {
        aggregates_[i]->apply(id, time, f);
        break;
      }
    }
  }
}

void AggregateEngine::apply_one(size_t aggregate, std::string_view key, double time,
                                std::span<const EventField> fields) {
  for (const EventField& f : fields) {
    if (f.name == specs_[aggregate].field) {
      aggregates_[aggregate]->apply(keys_.intern(key), time, f);
      return;
    }
  }
}

AggregateValue AggregateEngine::read(size_t aggregate, std::string_view key) const {
  return aggregates_[aggregate]->read(key_id(key), std::nullopt);
}

AggregateValue AggregateEngine::read_as_of(size_t aggregate, std::string_view key, double t) const {
  return aggregates_[aggregate]->read(key_id(key), t);
}

void AggregateEngine::read_many(std::span<const uint32_t> aggregates, std::string_view key,
                                std::optional<double> t, std::span<AggregateValue> out) const {
  const uint32_t id = key_id(key);
  for (size_t i = 0; i < aggregates.size(); ++i) out[i] = aggregates_[aggregates[i]]->read(id, t);
}

std::optional<size_t> AggregateEngine::find(std::string_view name) const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) return i;
  }
  return std::nullopt;
}

AggregateEngine::Stats AggregateEngine::stats(size_t aggregate) const {
  return aggregates_[aggregate]->stats();
}

double AggregateEngine::watermark(size_t aggregate) const {
  return aggregates_[aggregate]->watermark();
}

std::vector<std::string> AggregateEngine::keys() const { return keys_.names(); }

void AggregateEngine::save(BinaryWriter& out) const {
  out.put<uint64_t>(keys_.size());
  for (const auto& k : keys_.names()) out.put_string(k);
  out.put<uint64_t>(specs_.size());
  for (size_t i = 0; i < specs_.size(); ++i) {
    out.put_string(specs_[i].to_string());
    aggregates_[i]->save(out);
  }
}

void AggregateEngine::load(BinaryReader& in) {
  keys_.clear();
  for (auto n = in.get<uint64_t>(); n > 0; --n) {
    size_t next = keys_.size();
    if (keys_.intern(in.get_string()) != next) in.fail("an entity key saved twice");
  }
  if (in.get<uint64_t>() != specs_.size())
    in.fail("the saved aggregates differ from the declared ones");
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (in.get_string() != specs_[i].to_string()) {
      in.fail("aggregate '" + specs_[i].name + "' was declared differently when saved");
    }
    aggregates_[i]->load(in);
  }
}

}  // namespace rtml::features
