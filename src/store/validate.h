// Checks of an update that need no knowledge of the store: key, names, values.
// Private to the store.
#pragma once

#include <string>

#include "rtml/store/types.h"

namespace rtml::store::detail {

// Returns why key is bad (empty, or longer than EntityKey::kMaxKeyBytes), or "".
std::string validate_key(const EntityKey& key);
// Returns why u is bad, or "" if its key, feature names and values are acceptable.
std::string validate_update(const Update& u);
// The group of a feature: the part of its name before the first '.', or "".
std::string feature_group(std::string_view name);

}  // namespace rtml::store::detail
