// The binary form of an Update inside a WAL record. Private to the store.
#pragma once

#include <string>
#include <string_view>

#include "rtml/store/types.h"

namespace rtml::store::detail {

// time is the update's time in whole seconds.
void encode_update(const Update& u, uint32_t time, std::string& out);
// Throws Error on malformed bytes.
Update decode_update(std::string_view bytes, uint32_t& time);

}  // namespace rtml::store::detail
