// The records of a served model's write-ahead log. Private to serve.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "rtml/core/error.h"
#include "rtml/core/row.h"
#include "rtml/learn/model.h"

namespace rtml::serve::detail {

// What changes a served model, in the order its learning thread applied it: a logged
// prediction (its event id, time, fields and the prediction made), a label (by event id,
// or with the event's fields), a rollback to a version.
enum class RecordKind : uint8_t { kLog = 1, kLearn = 2, kRollback = 3 };

struct ModelRecord {
  RecordKind kind = RecordKind::kLog;
  double time = 0;
  std::string_view event_id;
  std::string_view fields;  // FieldBuffer::bytes()
  // kLog
  double value = 0;
  uint32_t label = 0;
  bool has_label = false;
  std::string_view proba;  // the doubles' bytes
  // kLearn
  ValueKind label_kind = ValueKind::kMissing;
  double label_number = 0;
  std::string_view label_text;
  // kRollback
  uint64_t version = 0;
};

class RecordWriter {
 public:
  // Encodes r into a buffer reused from one record to the next.
  std::string_view encode(const ModelRecord& r) {
    out_.clear();
    put(static_cast<uint8_t>(r.kind));
    put(r.time);
    switch (r.kind) {
      case RecordKind::kLog:
        text(r.event_id);
        text(r.fields);
        put(r.value);
        put(r.label);
        put(static_cast<uint8_t>(r.has_label));
        text(r.proba);
        break;
      case RecordKind::kLearn:
        text(r.event_id);
        text(r.fields);
        put(static_cast<uint8_t>(r.label_kind));
        put(r.label_number);
        text(r.label_text);
        break;
      case RecordKind::kRollback:
        put(r.version);
        break;
    }
    return out_;
  }

 private:
  template <class T>
  void put(T v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void text(std::string_view s) {
    put(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  std::string out_;
};

// Decodes a record (views into bytes). Throws Error for bytes that are not one.
inline ModelRecord decode_record(std::string_view bytes) {
  size_t at = 0;
  auto take = [&](size_t n) {
    if (bytes.size() - at < n) throw Error("a truncated model log record");
    const char* p = bytes.data() + at;
    at += n;
    return p;
  };
  auto get = [&]<class T>(T& v) { std::memcpy(&v, take(sizeof v), sizeof v); };
  auto text = [&](std::string_view& s) {
    uint32_t n;
    get(n);
    s = std::string_view(take(n), n);
  };
  ModelRecord r;
  uint8_t kind;
  get(kind);
  if (kind < 1 || kind > 3) throw Error("a model log record of unknown kind");
  r.kind = static_cast<RecordKind>(kind);
  get(r.time);
  switch (r.kind) {
    case RecordKind::kLog: {
      text(r.event_id);
      text(r.fields);
      get(r.value);
      get(r.label);
      uint8_t has;
      get(has);
      r.has_label = has != 0;
      text(r.proba);
      if (r.proba.size() % sizeof(double)) throw Error("a model log record's probabilities");
      break;
    }
    case RecordKind::kLearn: {
      text(r.event_id);
      text(r.fields);
      uint8_t k;
      get(k);
      if (k > 2) throw Error("a model log record's label kind");
      r.label_kind = static_cast<ValueKind>(k);
      get(r.label_number);
      text(r.label_text);
      break;
    }
    case RecordKind::kRollback:
      get(r.version);
      break;
  }
  if (at != bytes.size()) throw Error("a model log record with trailing bytes");
  return r;
}

}  // namespace rtml::serve::detail
