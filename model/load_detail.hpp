// Hostile-input limits shared by the loader, the validator and their tests.
#pragma once

#include <cstddef>

namespace netlab::model {

// See docs/topology.md, "Limits".
inline constexpr std::size_t kMaxFileBytes = 1024 * 1024;  // per file, checked before parsing
inline constexpr int kMaxDepth = 64;                        // nesting levels, checked before parsing
inline constexpr std::size_t kMaxNodes = 100'000;           // keys and list entries walked per file (alias bombs);
                                                            // a 1000-container topology walks ~10,000
inline constexpr std::size_t kMaxDiagnostics = 200;         // per file, then "too many problems"

}  // namespace netlab::model
