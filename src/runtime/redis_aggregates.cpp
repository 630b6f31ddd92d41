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

// Applies one event's updates to one entity. KEYS[1] the entity's hash, KEYS[2] the
// event's dedup key, KEYS[3..] the bucket sets of the distinct and topk updates in
// order. ARGV[1] seconds to remember the event id (0: no dedup), then seven per update:
// op, aggregate name, bucket, slot (the half-life for decayed), value, event time, ring
// size. A bucket as old as the entity's newest minus the ring is dropped (too late: the
// engine's rule, with the entity's own watermark); a bucket newer than the one its slot
// holds clears the slot first. Returns the number of updates applied, or -1 for an event id
// seen before.
constexpr const char* kApplyScript = R"lua(
local h = KEYS[1]
if tonumber(ARGV[1]) > 0 then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return -1 end
end
local applied = 0
local k = 3
local i = 2
while i <= #ARGV do
  local op, name, b, slot, x, t, ring = ARGV[i], ARGV[i+1], tonumber(ARGV[i+2]), ARGV[i+3], ARGV[i+4], tonumber(ARGV[i+5]), tonumber(ARGV[i+6])
  i = i + 7
  if op == 'd' or op == 'dc' then
    local hl = tonumber(slot)
    local v = tonumber(x)
    if op == 'dc' then v = 1 end
    local r = redis.call('HMGET', h, name .. '~s', name .. '~c', name .. '~t')
    local s, c, T = tonumber(r[1]) or 0, tonumber(r[2]) or 0, tonumber(r[3])
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
    redis.call('HSET', h, name .. '~s', string.format('%.17g', s), name .. '~c',
               string.format('%.17g', c), name .. '~t', string.format('%.17g', T))
    applied = applied + 1
  else
    local base = name .. '#' .. slot
    local set = nil
    if op == 'h' or op == 'z' then
      set = KEYS[k]
      k = k + 1
    end
    local top = tonumber(redis.call('HGET', h, name .. '#top'))
    local held = nil
    if top ~= nil and b <= top - ring then
      held = b + 1  -- too late: dropped
    else
      if top == nil or b > top then redis.call('HSET', h, name .. '#top', b) end
      held = tonumber(redis.call('HGET', h, base .. 'b'))
    end
    if held == nil or held < b then
      redis.call('HDEL', h, base .. 'n', base .. 'a', base .. 'q', base .. 't')
      if set then redis.call('DEL', set) end
      redis.call('HSET', h, base .. 'b', b)
      held = b
    end
    if held == b then
      local n = redis.call('HINCRBY', h, base .. 'n', 1)
      if op == 's' then
        redis.call('HINCRBYFLOAT', h, base .. 'a', x)
      elseif op == 'v' then
        local v = tonumber(x)
        redis.call('HINCRBYFLOAT', h, base .. 'a', x)
        redis.call('HINCRBYFLOAT', h, base .. 'q', string.format('%.17g', v * v))
      elseif op == 'mn' or op == 'mx' then
        local o = tonumber(redis.call('HGET', h, base .. 'a'))
        local v = tonumber(x)
        if o == nil or (op == 'mn' and v < o) or (op == 'mx' and v > o) then
          redis.call('HSET', h, base .. 'a', x)
        end
      elseif op == 'l' then
        local o = tonumber(redis.call('HGET', h, base .. 't'))
        if o == nil or t >= o then
          redis.call('HSET', h, base .. 'a', x, base .. 't', string.format('%.17g', t))
        end
      elseif op == 'h' then
        redis.call('PFADD', set, x)
      elseif op == 'z' then
        redis.call('ZINCRBY', set, 1, x)
      end
      applied = applied + 1
    end
  end
end
return applied
)lua";

// Reads aggregates of one entity. KEYS[1] its hash, KEYS[2..] the bucket sets of its
// distinct and topk aggregates, window_buckets each, in order. ARGV: six per aggregate:
// function, name, first bucket, last bucket, ring size, k (the read time for decayed,
// whose first field is the half-life). Returns one reply per aggregate: a number as
// text, "" if absent, or for topk its items and counts, most frequent first.
constexpr const char* kReadScript = R"lua(
local h = KEYS[1]
local out = {}
local k = 2
local i = 1
while i <= #ARGV do
  local fn, name, first, last, ring, extra = ARGV[i], ARGV[i+1], tonumber(ARGV[i+2]), tonumber(ARGV[i+3]), tonumber(ARGV[i+4]), ARGV[i+5]
  i = i + 6
  if string.sub(fn, 1, 6) == 'decay_' then
    local r = redis.call('HMGET', h, name .. '~s', name .. '~c', name .. '~t')
    local s, c, T = tonumber(r[1]), tonumber(r[2]), tonumber(r[3])
    local at = tonumber(extra)
    local hl = first
    if T == nil then
      if fn == 'decay_mean' then out[#out + 1] = '' else out[#out + 1] = '0' end
    elseif at < T then
      out[#out + 1] = ''
    else
      local f = 2 ^ (-(at - T) / hl)
      if fn == 'decay_mean' then
        if c > 0 then out[#out + 1] = string.format('%.17g', s / c) else out[#out + 1] = '' end
      elseif fn == 'decay_count' then
        out[#out + 1] = string.format('%.17g', c * f)
      else
        out[#out + 1] = string.format('%.17g', s * f)
      end
    end
  else
    local n, a, q, lt = 0, nil, 0, nil
    local sets = {}
    local top = tonumber(redis.call('HGET', h, name .. '#top'))
    -- The window reaches past the history the entity keeps: nothing, as the engine.
    local lost = top ~= nil and first <= top - ring
    for b = first, last do
      local base = name .. '#' .. (b % ring)
      local set = nil
      if fn == 'distinct' or fn == 'topk' then
        set = KEYS[k]
        k = k + 1
      end
      local r = redis.call('HMGET', h, base .. 'b', base .. 'n', base .. 'a', base .. 'q', base .. 't')
      if tonumber(r[1]) == b and tonumber(r[2]) then
        local bn = tonumber(r[2])
        local ba = tonumber(r[3])
        if set then
          sets[#sets + 1] = set
        elseif fn == 'min' then
          if a == nil or ba < a then a = ba end
        elseif fn == 'max' then
          if a == nil or ba > a then a = ba end
        elseif fn == 'last' then
          local bt = tonumber(r[5])
          if lt == nil or bt >= lt then
            lt = bt
            a = ba
          end
        elseif fn ~= 'count' then
          a = (a or 0) + ba
          q = q + (tonumber(r[4]) or 0)
        end
        n = n + bn
      end
    end
    if lost then
      out[#out + 1] = ''
    elseif fn == 'count' then
      out[#out + 1] = tostring(n)
    elseif fn == 'sum' then
      out[#out + 1] = string.format('%.17g', a or 0)
    elseif fn == 'mean' then
      if n > 0 then out[#out + 1] = string.format('%.17g', a / n) else out[#out + 1] = '' end
    elseif fn == 'variance' then
      if n > 1 then
        local v = (q - a * a / n) / (n - 1)
        if v < 0 then v = 0 end
        out[#out + 1] = string.format('%.17g', v)
      else
        out[#out + 1] = ''
      end
    elseif fn == 'distinct' then
      if #sets > 0 then out[#out + 1] = tostring(redis.call('PFCOUNT', unpack(sets))) else out[#out + 1] = '0' end
    elseif fn == 'topk' then
      local counts = {}
      for _, s in ipairs(sets) do
        local z = redis.call('ZRANGE', s, 0, -1, 'WITHSCORES')
        for j = 1, #z, 2 do counts[z[j]] = (counts[z[j]] or 0) + tonumber(z[j + 1]) end
      end
      local items = {}
      for item, c in pairs(counts) do items[#items + 1] = {item, c} end
      table.sort(items, function(x, y)
        if x[2] ~= y[2] then return x[2] > y[2] end
        return x[1] < y[1]
      end)
      local top = {}
      for j = 1, math.min(#items, tonumber(extra)) do top[#top + 1] = items[j][1] end
      out[#out + 1] = table.concat(top, ',')
    else
      if a ~= nil and n > 0 then out[#out + 1] = string.format('%.17g', a) else out[#out + 1] = '' end
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

std::string number_text(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, static_cast<size_t>(r.ptr - buf));
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
  const char* scripts[2] = {kApplyScript, kReadScript};
  for (int i = 0; i < 2; ++i) {
    store::RedisReplyPtr r = redis_.checked({"SCRIPT", "LOAD", scripts[i]}, "load a script");
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
  std::string k = o_.redis.prefix + ":agg:{";
  if (key.is_int()) {
    k += '#';
    k += std::to_string(key.id());
  } else {
    k += key.text();
  }
  k += '}';
  return k;
}

std::string RedisAggregates::set_key(const std::string& hash, size_t i, int64_t b) const {
  return hash + ":" + specs_[i].name + "#" + std::to_string(slot_of(i, b));
}

int64_t RedisAggregates::slot_of(size_t i, int64_t b) const {
  const int64_t r = rings_[i].ring;
  return ((b % r) + r) % r;  // as Lua's % (floored), for buckets before time 0
}

void RedisAggregates::queue_script(int which, const std::vector<std::string_view>& args) {
  std::vector<std::string_view> full = {"EVALSHA", sha_[which]};
  full.insert(full.end(), args.begin(), args.end());
  redis_.append(full);
}

store::RedisReplyPtr RedisAggregates::script_reply(int which,
                                                   const std::vector<std::string_view>& args) {
  store::RedisReplyPtr r = redis_.reply();
  if (r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).starts_with("NOSCRIPT")) {
    // Redis restarted or its scripts were flushed: loaded again, and run once more.
    const char* text = which == 0 ? kApplyScript : kReadScript;
    store::RedisReplyPtr l = redis_.checked({"SCRIPT", "LOAD", text}, "load a script");
    sha_[which].assign(l->str, l->len);
    std::vector<std::string_view> full = {"EVALSHA", sha_[which]};
    full.insert(full.end(), args.begin(), args.end());
    r = redis_.command(full);
  }
  if (r->type == REDIS_REPLY_ERROR) {
    throw Error(redis_.where() + "aggregates script failed: " + std::string(r->str, r->len));
  }
  return r;
}

size_t RedisAggregates::apply(double time, std::span<const EventField> fields,
                              std::string_view id) {
  // The updates grouped by entity: one script call each, pipelined.
  struct Entity {
    std::string hash;
    std::vector<std::string> keys;  // dedup key, then sets
    std::vector<std::string> argv;
  };
  std::map<std::string, Entity> entities;
  store::EntityKey key;
  const std::string ttl =
      std::to_string(id.empty() ? 0 : std::max<int64_t>(1, std::llround(o_.dedup_seconds)));
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
    set_entity_key(key, by->is_number(), by->value.number, by->value.text);
    std::string hash = hash_key(key);
    Entity& e = entities[hash];
    if (e.hash.empty()) {
      e.hash = hash;
      e.keys.push_back(hash + ":seen:" + std::string(id));
      e.argv.push_back(ttl);
    }
    const int64_t b = s.window == WindowKind::kDecayed ? 0 : floor_div(time, rings_[i].hop);
    e.argv.push_back(op_of(s));
    e.argv.push_back(s.name);
    e.argv.push_back(std::to_string(b));
    e.argv.push_back(s.window == WindowKind::kDecayed ? number_text(s.window_seconds)
                                                      : std::to_string(slot_of(i, b)));
    e.argv.push_back(value->is_number() ? number_text(value->value.number)
                                        : std::string(value->value.text));
    e.argv.push_back(number_text(time));
    e.argv.push_back(std::to_string(rings_[i].ring));
    if (s.function == AggregateFunction::kDistinct || s.function == AggregateFunction::kTopK) {
      if (s.window != WindowKind::kDecayed) e.keys.push_back(set_key(hash, i, b));
    }
  }
  std::vector<std::vector<std::string_view>> calls;
  // Argument vectors pointing into the entities' strings (strings_ reserved: no moves).
  strings_.clear();
  strings_.reserve(entities.size());
  for (auto& [hash, e] : entities) {
    strings_.push_back(std::to_string(e.keys.size() + 1));
    std::vector<std::string_view> args = {strings_.back(), e.hash};
    for (const auto& k : e.keys) args.push_back(k);
    for (const auto& a : e.argv) args.push_back(a);
    calls.push_back(std::move(args));
  }
  for (const auto& args : calls) queue_script(0, args);
  size_t applied = 0;
  for (const auto& args : calls) {
    store::RedisReplyPtr r = script_reply(0, args);
    if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
      applied += static_cast<size_t>(r->integer);
  }
  return applied;
}

void RedisAggregates::read_as_of(std::span<const uint32_t> indices, const store::EntityKey& key,
                                 double t, std::span<store::FeatureValue> out) {
  const std::string hash = hash_key(key);
  std::vector<std::string> keys, argv;
  for (uint32_t i : indices) {
    const auto& s = specs_[i];
    argv.push_back(function_name(s));
    argv.push_back(s.name);
    if (s.window == WindowKind::kDecayed) {
      argv.push_back(number_text(s.window_seconds));
      argv.push_back("0");
      argv.push_back("1");
      argv.push_back(number_text(t));
      continue;
    }
    const int64_t last = floor_div(t, rings_[i].hop) - 1;
    const int64_t first = last - rings_[i].window_buckets + 1;
    argv.push_back(std::to_string(first));
    argv.push_back(std::to_string(last));
    argv.push_back(std::to_string(rings_[i].ring));
    argv.push_back(std::to_string(s.k));
    if (s.function == AggregateFunction::kDistinct || s.function == AggregateFunction::kTopK) {
      for (int64_t b = first; b <= last; ++b) keys.push_back(set_key(hash, i, b));
    }
  }
  const std::string nkeys = std::to_string(keys.size() + 1);
  std::vector<std::string_view> args = {nkeys, hash};
  for (const auto& k : keys) args.push_back(k);
  for (const auto& a : argv) args.push_back(a);
  queue_script(1, args);
  store::RedisReplyPtr r = script_reply(1, args);
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
