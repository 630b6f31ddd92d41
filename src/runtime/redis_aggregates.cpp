#include "rtml/runtime/redis_aggregates.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "rtml/core/error.h"
#include "rtml/runtime/store_aggregates.h"

namespace rtml::runtime {
namespace {

using features::AggregateFunction;
using features::WindowKind;

// The layout both scripts share, one hash per entity: "<name>#top" the newest bucket
// the aggregate has seen for the entity; "<name>#<slot>" one bucket of its ring, packed
// as "bucket count a q t" (a: sum, extreme or last value, "-" if none; q: sum of
// squares; t: time of the last value); "<name>~" a decayed aggregate as "sum count time".
// Packed, so that a read is one HMGET and an update one HMGET and one HSET, whatever
// the number of aggregates.

// What both scripts begin with: a packed bucket split into its words, and a number
// written back in full precision.
constexpr const char* kScriptHelpers = R"lua(
local function parts(text)
  local p = {}
  if text then for w in string.gmatch(text, '%S+') do p[#p + 1] = w end end
  return p
end
local function num(v) return string.format('%.17g', v) end
)lua";

// Applies one event's updates to one entity. KEYS[1] the entity's hash, KEYS[2] the
// event's dedup key, KEYS[3..] the bucket sets of the distinct and topk updates in
// order. ARGV[1] seconds to remember the event id (0: no dedup), then seven per update:
// op, aggregate name, bucket, slot (the half-life for decayed), value, event time, ring
// size. A bucket as old as the entity's newest minus the ring is dropped (too late: the
// engine's rule, with the entity's own watermark); a bucket newer than the one its slot
// holds clears the slot first. Returns the number of updates applied, or -1 for an
// event id seen before.
constexpr const char* kApplyScript = R"lua(
local h = KEYS[1]
if tonumber(ARGV[1]) > 0 then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return -1 end
end
local nu = (#ARGV - 1) / 7
local fields = {}
for u = 0, nu - 1 do
  local j = 2 + u * 7
  local name = ARGV[j + 1]
  if ARGV[j] == 'd' or ARGV[j] == 'dc' then
    fields[#fields + 1] = name .. '~'
    fields[#fields + 1] = name .. '~'
  else
    fields[#fields + 1] = name .. '#top'
    fields[#fields + 1] = name .. '#' .. ARGV[j + 3]
  end
end
local got = redis.call('HMGET', h, unpack(fields))
local out = {}
local applied = 0
local k = 3
for u = 0, nu - 1 do
  local j = 2 + u * 7
  local op, name, b, slot, x, t, ring = ARGV[j], ARGV[j + 1], tonumber(ARGV[j + 2]), ARGV[j + 3], ARGV[j + 4], tonumber(ARGV[j + 5]), tonumber(ARGV[j + 6])
  if op == 'd' or op == 'dc' then
    local hl = tonumber(slot)
    local v = tonumber(x)
    if op == 'dc' then v = 1 end
    local p = parts(got[2 * u + 1])
    local s, c, T = tonumber(p[1]) or 0, tonumber(p[2]) or 0, tonumber(p[3])
    if T == nil or t >= T then
      local f = 0
      if T ~= nil then f = 2 ^ (-(t - T) / hl) end
      s = s * f + v
      c = c * f + 1
      T = t
    else
      local f = 2 ^ (-(T - t) / hl)
      s = s + v * f
      c = c + f
    end
    out[#out + 1] = name .. '~'
    out[#out + 1] = num(s) .. ' ' .. num(c) .. ' ' .. num(T)
    applied = applied + 1
  else
    local set = nil
    if op == 'h' or op == 'z' then
      set = KEYS[k]
      k = k + 1
    end
    local top = tonumber(got[2 * u + 1])
    if top == nil or b > top - ring then
      if top == nil or b > top then
        out[#out + 1] = name .. '#top'
        out[#out + 1] = tostring(b)
      end
      local p = parts(got[2 * u + 2])
      local cb, n, a, q, lt = tonumber(p[1]), tonumber(p[2]) or 0, tonumber(p[3]), tonumber(p[4]) or 0, tonumber(p[5])
      if cb == nil or cb < b then
        cb, n, a, q, lt = b, 0, nil, 0, nil
        if set then redis.call('DEL', set) end
      end
      if cb == b then
        local v = tonumber(x)
        n = n + 1
        if op == 's' then
          a = (a or 0) + v
        elseif op == 'v' then
          a = (a or 0) + v
          q = q + v * v
        elseif op == 'mn' then
          if a == nil or v < a then a = v end
        elseif op == 'mx' then
          if a == nil or v > a then a = v end
        elseif op == 'l' then
          if lt == nil or t >= lt then
            a = v
            lt = t
          end
        elseif op == 'h' then
          redis.call('PFADD', set, x)
        elseif op == 'z' then
          redis.call('ZINCRBY', set, 1, x)
        end
        local at, tt = '-', '-'
        if a ~= nil then at = num(a) end
        if lt ~= nil then tt = num(lt) end
        out[#out + 1] = name .. '#' .. slot
        out[#out + 1] = tostring(b) .. ' ' .. tostring(n) .. ' ' .. at .. ' ' .. num(q) .. ' ' .. tt
        applied = applied + 1
      end
    end
  end
end
if #out > 0 then redis.call('HSET', h, unpack(out)) end
return applied
)lua";

// Reads aggregates of one entity. KEYS[1] its hash, KEYS[2..] the bucket sets of its
// distinct and topk aggregates, window_buckets each, in order. ARGV: six per aggregate:
// function, name, first bucket, last bucket, ring size, k (decayed: the half-life, two
// unused, and the read time). Returns one text per aggregate: a number, "" if absent,
// or for topk its items, most frequent first, joined by commas.
constexpr const char* kReadScript = R"lua(
local h = KEYS[1]
local na = #ARGV / 6
local fields = {}
for u = 0, na - 1 do
  local j = 1 + u * 6
  local fn, name = ARGV[j], ARGV[j + 1]
  if string.sub(fn, 1, 6) == 'decay_' then
    fields[#fields + 1] = name .. '~'
  else
    fields[#fields + 1] = name .. '#top'
    local ring = tonumber(ARGV[j + 4])
    for b = tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3]) do
      fields[#fields + 1] = name .. '#' .. (b % ring)
    end
  end
end
local got = redis.call('HMGET', h, unpack(fields))
local out = {}
local g = 1
local k = 2
for u = 0, na - 1 do
  local j = 1 + u * 6
  local fn, name, first, last, ring, extra = ARGV[j], ARGV[j + 1], tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3]), tonumber(ARGV[j + 4]), ARGV[j + 5]
  if string.sub(fn, 1, 6) == 'decay_' then
    local p = parts(got[g])
    g = g + 1
    local s, c, T = tonumber(p[1]), tonumber(p[2]), tonumber(p[3])
    local at = tonumber(extra)
    local hl = first
    if T == nil then
      if fn == 'decay_mean' then out[#out + 1] = '' else out[#out + 1] = '0' end
    elseif at < T then
      out[#out + 1] = ''
    else
      local f = 2 ^ (-(at - T) / hl)
      if fn == 'decay_mean' then
        if c > 0 then out[#out + 1] = num(s / c) else out[#out + 1] = '' end
      elseif fn == 'decay_count' then
        out[#out + 1] = num(c * f)
      else
        out[#out + 1] = num(s * f)
      end
    end
  else
    local top = tonumber(got[g])
    g = g + 1
    -- The window reaches past the history the entity keeps: nothing, as the engine.
    local lost = top ~= nil and first <= top - ring
    local n, a, q, lt = 0, nil, 0, nil
    local sets = {}
    for b = first, last do
      local p = parts(got[g])
      g = g + 1
      local set = nil
      if fn == 'distinct' or fn == 'topk' then
        set = KEYS[k]
        k = k + 1
      end
      if tonumber(p[1]) == b and (tonumber(p[2]) or 0) > 0 then
        local bn, ba = tonumber(p[2]), tonumber(p[3])
        if set then
          sets[#sets + 1] = set
        elseif fn == 'min' then
          if a == nil or ba < a then a = ba end
        elseif fn == 'max' then
          if a == nil or ba > a then a = ba end
        elseif fn == 'last' then
          local bt = tonumber(p[5])
          if lt == nil or bt >= lt then
            lt = bt
            a = ba
          end
        elseif fn ~= 'count' then
          a = (a or 0) + ba
          q = q + tonumber(p[4])
        end
        n = n + bn
      end
    end
    if lost then
      out[#out + 1] = ''
    elseif fn == 'count' then
      out[#out + 1] = tostring(n)
    elseif fn == 'sum' then
      out[#out + 1] = num(a or 0)
    elseif fn == 'mean' then
      if n > 0 then out[#out + 1] = num(a / n) else out[#out + 1] = '' end
    elseif fn == 'variance' then
      if n > 1 then
        local v = (q - a * a / n) / (n - 1)
        if v < 0 then v = 0 end
        out[#out + 1] = num(v)
      else
        out[#out + 1] = ''
      end
    elseif fn == 'distinct' then
      if #sets > 0 then out[#out + 1] = tostring(redis.call('PFCOUNT', unpack(sets))) else out[#out + 1] = '0' end
    elseif fn == 'topk' then
      local counts = {}
      for _, s in ipairs(sets) do
        local z = redis.call('ZRANGE', s, 0, -1, 'WITHSCORES')
        for i = 1, #z, 2 do counts[z[i]] = (counts[z[i]] or 0) + tonumber(z[i + 1]) end
      end
      local items = {}
      for item, c in pairs(counts) do items[#items + 1] = {item, c} end
      table.sort(items, function(x, y)
        if x[2] ~= y[2] then return x[2] > y[2] end
        return x[1] < y[1]
      end)
      local top_items = {}
      for i = 1, math.min(#items, tonumber(extra)) do top_items[#top_items + 1] = items[i][1] end
      out[#out + 1] = table.concat(top_items, ',')
    else
      if a ~= nil and n > 0 then out[#out + 1] = num(a) else out[#out + 1] = '' end
    end
  end
end
return out
)lua";

const char* function_name(const features::AggregateSpec& s) {
  if (s.window == WindowKind::kDecayed) {
    return s.function == AggregateFunction::kCount  ? "decay_count"
           : s.function == AggregateFunction::kMean ? "decay_mean"
                                                    : "decay_sum";
  }
  switch (s.function) {
    case AggregateFunction::kCount:
      return "count";
    case AggregateFunction::kSum:
      return "sum";
    case AggregateFunction::kMean:
      return "mean";
    case AggregateFunction::kMin:
      return "min";
    case AggregateFunction::kMax:
      return "max";
    case AggregateFunction::kVariance:
      return "variance";
    case AggregateFunction::kLast:
      return "last";
    case AggregateFunction::kDistinct:
      return "distinct";
    case AggregateFunction::kTopK:
      return "topk";
  }
  return "count";
}

// The update op of an aggregate (see kApplyScript).
const char* op_of(const features::AggregateSpec& s) {
  if (s.window == WindowKind::kDecayed) return s.function == AggregateFunction::kCount ? "dc" : "d";
  switch (s.function) {
    case AggregateFunction::kCount:
      return "c";
    case AggregateFunction::kSum:
    case AggregateFunction::kMean:
      return "s";
    case AggregateFunction::kVariance:
      return "v";
    case AggregateFunction::kMin:
      return "mn";
    case AggregateFunction::kMax:
      return "mx";
    case AggregateFunction::kLast:
      return "l";
    case AggregateFunction::kDistinct:
      return "h";
    case AggregateFunction::kTopK:
      return "z";
  }
  return "c";
}

int64_t floor_div(double t, double hop) { return static_cast<int64_t>(std::floor(t / hop)); }

void append_number(std::string& out, double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void append_integer(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

}  // namespace

RedisAggregates::RedisAggregates(Options options, std::vector<features::AggregateSpec> specs)
    : o_(std::move(options)), specs_(std::move(specs)), redis_(o_.redis) {
  for (const auto& s : specs_) {
    Ring r;
    if (s.window != WindowKind::kDecayed) {
      r.hop = s.hop_seconds;
      r.window_buckets = static_cast<int64_t>(std::llround(s.window_seconds / r.hop));
      r.ring = static_cast<int64_t>(std::ceil(s.keep_seconds / r.hop) +
                                    std::ceil(s.lateness_seconds / r.hop) + 1);
      r.ring = std::max(r.ring, r.window_buckets);
    }
    rings_.push_back(r);
  }
  ttl_ = std::to_string(std::max<int64_t>(1, std::llround(o_.dedup_seconds)));
  script_[0] = std::string(kScriptHelpers) + kApplyScript;
  script_[1] = std::string(kScriptHelpers) + kReadScript;
  for (int i = 0; i < 2; ++i) {
    store::RedisReplyPtr r = redis_.checked({"SCRIPT", "LOAD", script_[i]}, "load a script");
    sha_[i].assign(r->str, r->len);
  }
}

std::optional<uint32_t> RedisAggregates::index_of(std::string_view name) const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) return static_cast<uint32_t>(i);
  }
  return std::nullopt;
}

std::string RedisAggregates::hash_key(const store::EntityKey& key) const {
  std::string k;
  hash_key_into(key, k);
  return k;
}

void RedisAggregates::hash_key_into(const store::EntityKey& key, std::string& out) const {
  out.assign(o_.redis.prefix);
  out += ":agg:";
  store::append_entity_tag(out, key);
}

void RedisAggregates::set_key_into(const std::string& hash, size_t i, int64_t b,
                                   std::string& out) const {
  out.assign(hash);
  out += ':';
  out += specs_[i].name;
  out += '#';
  append_integer(out, slot_of(i, b));
}

int64_t RedisAggregates::slot_of(size_t i, int64_t b) const {
  const int64_t r = rings_[i].ring;
  return ((b % r) + r) % r;  // as Lua's % (floored), for buckets before time 0
}

void RedisAggregates::queue_script(int which, std::vector<std::string_view>& full) {
  // full[0..1] are left for EVALSHA and the script's digest.
  full[0] = "EVALSHA";
  full[1] = sha_[which];
  redis_.append(full);
}

store::RedisReplyPtr RedisAggregates::script_reply(int which, std::vector<std::string_view>& full) {
  store::RedisReplyPtr r = redis_.reply();
  if (r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).starts_with("NOSCRIPT")) {
    // Redis restarted or its scripts were flushed: loaded again, and run once more.
    store::RedisReplyPtr l = redis_.checked({"SCRIPT", "LOAD", script_[which]}, "load a script");
    sha_[which].assign(l->str, l->len);
    full[1] = sha_[which];
    r = redis_.command(full);
  }
  if (r->type == REDIS_REPLY_ERROR) {
    throw Error(redis_.where() + "aggregates script failed: " + std::string(r->str, r->len));
  }
  return r;
}

namespace {

// The next string of a reused list, emptied (allocates only while the list grows).
std::string& next_of(std::vector<std::string>& list, size_t& used) {
  if (used == list.size()) list.emplace_back();
  std::string& s = list[used++];
  s.clear();
  return s;
}

}  // namespace

size_t RedisAggregates::apply(double time, std::span<const EventField> fields,
                              std::string_view id) {
  // The updates grouped by entity: one script call each, pipelined. Every buffer is
  // reused from call to call: no allocation once the calls' shapes have been seen.
  calls_used_ = 0;
  for (size_t i = 0; i < specs_.size(); ++i) {
    const auto& s = specs_[i];
    const EventField* by = nullptr;
    const EventField* value = nullptr;
    for (const auto& f : fields) {
      if (f.name == s.by) by = &f;
      if (f.name == s.field) value = &f;
    }
    if (!by || !value) continue;
    const bool numeric = s.function != AggregateFunction::kCount &&
                         s.function != AggregateFunction::kDistinct &&
                         s.function != AggregateFunction::kTopK;
    if (numeric && !value->is_number()) continue;  // the engine's wrong_type
    set_entity_key(key_, by->is_number(), by->value.number, by->value.text);
    hash_key_into(key_, scratch_);
    Call* call = nullptr;
    for (size_t c = 0; c < calls_used_; ++c) {
      if (calls_[c].hash == scratch_) call = &calls_[c];
    }
    if (!call) {
      if (calls_used_ == calls_.size()) calls_.emplace_back();
      call = &calls_[calls_used_++];
      call->hash.assign(scratch_);
      call->keys_used = call->argv_used = 0;
      std::string& seen = next_of(call->keys, call->keys_used);
      seen.assign(call->hash);
      seen += ":seen:";
      seen += id;
      next_of(call->argv, call->argv_used).assign(id.empty() ? std::string_view("0") : ttl_);
    }
    const int64_t b = s.window == WindowKind::kDecayed ? 0 : floor_div(time, rings_[i].hop);
    next_of(call->argv, call->argv_used).assign(op_of(s));
    next_of(call->argv, call->argv_used).assign(s.name);
    append_integer(next_of(call->argv, call->argv_used), b);
    if (s.window == WindowKind::kDecayed) {
      append_number(next_of(call->argv, call->argv_used), s.window_seconds);
    } else {
      append_integer(next_of(call->argv, call->argv_used), slot_of(i, b));
    }
    std::string& v = next_of(call->argv, call->argv_used);
    if (value->is_number()) {
      append_number(v, value->value.number);
    } else {
      v.assign(value->value.text);
    }
    append_number(next_of(call->argv, call->argv_used), time);
    append_integer(next_of(call->argv, call->argv_used), rings_[i].ring);
    if ((s.function == AggregateFunction::kDistinct || s.function == AggregateFunction::kTopK) &&
        s.window != WindowKind::kDecayed) {
      set_key_into(call->hash, i, b, next_of(call->keys, call->keys_used));
    }
  }
  for (size_t c = 0; c < calls_used_; ++c) {
    Call& call = calls_[c];
    call.numkeys.clear();
    append_integer(call.numkeys, static_cast<int64_t>(call.keys_used + 1));
    call.views.resize(2);  // EVALSHA, digest
    call.views.push_back(call.numkeys);
    call.views.push_back(call.hash);
    for (size_t k = 0; k < call.keys_used; ++k) call.views.push_back(call.keys[k]);
    for (size_t a = 0; a < call.argv_used; ++a) call.views.push_back(call.argv[a]);
    queue_script(0, call.views);
  }
  size_t applied = 0;
  for (size_t c = 0; c < calls_used_; ++c) {
    store::RedisReplyPtr r = script_reply(0, calls_[c].views);
    if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
      applied += static_cast<size_t>(r->integer);
  }
  return applied;
}

void RedisAggregates::read_as_of(std::span<const uint32_t> indices, const store::EntityKey& key,
                                 double t, std::span<store::FeatureValue> out) {
  hash_key_into(key, read_hash_);
  size_t keys_used = 0, argv_used = 0;
  for (uint32_t i : indices) {
    const auto& s = specs_[i];
    next_of(read_argv_, argv_used).assign(function_name(s));
    next_of(read_argv_, argv_used).assign(s.name);
    if (s.window == WindowKind::kDecayed) {
      append_number(next_of(read_argv_, argv_used), s.window_seconds);
      next_of(read_argv_, argv_used).assign("0");
      next_of(read_argv_, argv_used).assign("1");
      append_number(next_of(read_argv_, argv_used), t);
      continue;
    }
    const int64_t last = floor_div(t, rings_[i].hop) - 1;
    const int64_t first = last - rings_[i].window_buckets + 1;
    append_integer(next_of(read_argv_, argv_used), first);
    append_integer(next_of(read_argv_, argv_used), last);
    append_integer(next_of(read_argv_, argv_used), rings_[i].ring);
    append_integer(next_of(read_argv_, argv_used), s.k);
    if (s.function == AggregateFunction::kDistinct || s.function == AggregateFunction::kTopK) {
      for (int64_t b = first; b <= last; ++b) {
        set_key_into(read_hash_, i, b, next_of(read_keys_, keys_used));
      }
    }
  }
  read_numkeys_.clear();
  append_integer(read_numkeys_, static_cast<int64_t>(keys_used + 1));
  read_views_.resize(2);
  read_views_.push_back(read_numkeys_);
  read_views_.push_back(read_hash_);
  for (size_t k = 0; k < keys_used; ++k) read_views_.push_back(read_keys_[k]);
  for (size_t a = 0; a < argv_used; ++a) read_views_.push_back(read_argv_[a]);
  queue_script(1, read_views_);
  store::RedisReplyPtr r = script_reply(1, read_views_);
  if (r->type != REDIS_REPLY_ARRAY || r->elements != indices.size()) {
    throw Error(redis_.where() + "aggregates script gave an unexpected reply");
  }
  for (size_t j = 0; j < indices.size(); ++j) {
    const redisReply* e = r->element[j];
    std::string_view text(e->str ? e->str : "", e->str ? e->len : 0);
    store::FeatureValue& v = out[j];
    const auto& s = specs_[indices[j]];
    if (s.function == AggregateFunction::kTopK && s.window != WindowKind::kDecayed) {
      v.type = store::FeatureType::kCategory;
      v.text.assign(text);
      v.present = true;
      continue;
    }
    v.type = store::FeatureType::kNumber;
    v.present = !text.empty();
    v.number = 0;
    if (v.present) std::from_chars(text.data(), text.data() + text.size(), v.number);
  }
}

}  // namespace rtml::runtime
