// libFuzzer target: topology file bytes -> desired state, as netlabd and
// netlabctl get there (load, merge, validate, compile), without any file or
// kernel. A line "#%dropin" splits the input: the text before it is
// topology.yaml, each part after it a drop-in, so the merge is fuzzed too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/load.hpp"
#include "reconcile/plan/compile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace netlab;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    constexpr std::string_view kSplit = "\n#%dropin\n";
    std::vector<model::Document> docs;
    for (;;) {
        const std::size_t at = in.find(kSplit);
        const bool drop_in = !docs.empty();
        const std::string file = drop_in ? "topology.d/" + std::to_string(docs.size()) + ".yaml" : "topology.yaml";
        docs.push_back({file, std::string(in.substr(0, at)), drop_in});
        if (at == std::string_view::npos) break;
        in.remove_prefix(at + kSplit.size());
    }
    model::Loaded loaded = model::load_documents(docs);
    for (const auto& d : loaded.diagnostics) (void)d.str();
    if (!loaded.ok()) return 0;
    reconcile::Desired desired = reconcile::compile(loaded.topology, reconcile::Ledger{});
    (void)desired;
    return 0;
}
