// Durations as admins write them: "60s", "5m", "1m30s", "1h", or a bare
// number of seconds. Used by the topology (`commit_confirmed: 60s`) and by
// `netlabctl apply --confirm 60s`. Pure: no clock is read here.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace netlab::model {

// The seconds `text` stands for: one or more NUMBER UNIT groups (units h, m,
// s, largest first, each at most once) or a bare NUMBER of seconds. nullopt
// when it is not a duration or is longer than a year.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// "45s", "2m", "1m30s", "1h": parse_duration reads it back.
std::string format_duration(std::chrono::seconds d);

// The longest commit-confirmed deadline: a change left pending longer than
// this is more likely forgotten than being tested.
inline constexpr std::chrono::seconds kMaxConfirmDeadline{24 * 3600};

}  // namespace netlab::model
