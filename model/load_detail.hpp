// Hostile-input limits shared by the loader, the validator and their tests.
#pragma once

#include <cstddef>

namespace netlab::model {

// See docs/topology.md, "Limits".
inline constexpr std::size_t kMaxFileBytes = 1024 * 1024;  // per file, checked before parsing
inline constexpr int kMaxDepth = 64;                        // nesting levels, checked before parsing
inline constexpr std::size_t kMaxNodes = 100'000;           // keys and list entries walked per file (alias bombs);
                                                            // 5,000 containers in flow style walk ~30,000
// The limits are per file and stay small because yaml-cpp builds its whole
// tree before the walk: a 1 MiB flow list of 500,000 scalars costs it ~250 MiB
// and seconds. A bigger topology (5,000 containers written block style with
// MAC, two addresses and a gateway each are ~1.1 MiB) is split into drop-ins.
inline constexpr const char* kSplitHint =
    "5,000 containers in flow style are ~600 KiB; split a bigger topology into drop-ins "
    "(topology.d/*.yaml), each file has its own limit";
inline constexpr std::size_t kMaxDiagnostics = 200;         // per file, then "too many problems"

}  // namespace netlab::model
