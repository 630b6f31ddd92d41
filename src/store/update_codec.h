// The binary form of an Update inside a WAL record. Private to the store.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/store/computed_features.h"
#include "rtml/store/types.h"

namespace rtml::store::detail {

enum class RecordKind : uint8_t { kUpdate = 0, kEvent = 1 };
// The kind of a record; throws Error if it is neither.
RecordKind record_kind(std::string_view bytes);

// time is the update's time in whole seconds.
void encode_update(const Update& u, uint32_t time, std::string& out);
// Throws Error on malformed bytes.
Update decode_update(std::string_view bytes, uint32_t& time);

void encode_event(const EntityKey& key, double time, std::span<const EventField> fields,
                  std::string_view id, std::string& out);
void decode_event(std::string_view bytes, EntityKey& key, double& time,
                  std::vector<EventField>& fields, std::string& id);

}  // namespace rtml::store::detail
