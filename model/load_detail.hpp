// Limits and helpers shared by the loader, the validator and their tests.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace netlab::model {

// Hostile-input limits (see docs/topology.md, "Limits").
inline constexpr std::size_t kMaxFileBytes = 1024 * 1024;  // per file, checked before parsing
inline constexpr int kMaxDepth = 64;                        // nesting levels, checked before parsing
inline constexpr std::size_t kMaxNodes = 100'000;           // keys and list entries walked per file (alias bombs);
                                                            // a 1000-container topology walks ~10,000
inline constexpr std::size_t kMaxDiagnostics = 200;         // per file, then "too many problems"

// The candidate closest to `word` by edit distance, or "" when none is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace netlab::model
