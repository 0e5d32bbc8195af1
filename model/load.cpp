// Loading: finds the files (topology.yaml, then topology.d/*.yaml in name
// order), reads each (reader.cpp, behind the guards of guard.cpp), merges
// them (merge.cpp) and validates the result (validate.cpp), capping the
// number of diagnostics reported.
#include "model/load.hpp"

#include <algorithm>
#include <system_error>
#include <utility>

#include "model/guard.hpp"
#include "model/load_detail.hpp"
#include "model/merge.hpp"
#include "model/reader.hpp"

namespace netlab::model {

namespace fs = std::filesystem;

Loaded load_string(std::string_view yaml, const std::string& file) {
    Loaded out;
    out.files.push_back(file);
    read_document(yaml, file, 0, out, false);
    return out;
}

Loaded load_config(const fs::path& path, EmptyDir empty) {
    Loaded out;
    std::error_code ec;
    std::vector<std::pair<fs::path, bool>> files;  // (path, is drop-in)
    if (fs::is_directory(path, ec)) {
        fs::path main = path / "topology.yaml";
        fs::path dropDir = path / "topology.d";
        std::vector<fs::path> drops;
        if (fs::is_directory(dropDir, ec)) {
            for (fs::directory_iterator it(dropDir, ec), end; !ec && it != end; it.increment(ec)) {
                std::string fname = it->path().filename().string();
                if (fname.empty() || fname[0] == '.' || it->path().extension() != ".yaml") continue;
                drops.push_back(it->path());
            }
            if (ec)
                out.diagnostics.push_back({Severity::Error, {dropDir.string(), 0, 0},
                                           "cannot list the drop-in directory: " + ec.message(), ""});
            std::sort(drops.begin(), drops.end());
        }
        bool haveMain = fs::exists(main, ec);
        if (!haveMain && drops.empty() && !has_errors(out.diagnostics)) {
            if (empty == EmptyDir::NoTopology) {
                out.no_topology = true;
                return out;
            }
            out.diagnostics.push_back({Severity::Error, {path.string(), 0, 0},
                                       "is a directory, but holds neither topology.yaml nor topology.d/*.yaml",
                                       "create " + main.string() + " starting with `version: 1`"});
            return out;
        }
        if (haveMain) files.emplace_back(main, false);
        for (auto& d : drops) files.emplace_back(d, true);
    } else {
        files.emplace_back(path, false);
    }

    for (const auto& [p, dropIn] : files) {
        std::string file = p.string();
        out.files.push_back(file);
        auto text = read_file(p, out.diagnostics);
        if (!text) continue;
        Loaded one;
        read_document(*text, file, out.topology.routes.size(), one, dropIn);
        merge_file(out, one, file);
    }
    // Validation runs even after loading errors, so every problem is reported
    // at once; values that failed to load are left out (routes stay as
    // placeholders of family 0, which validate() skips).
    validate(out.topology, out.sources, out.diagnostics);
    if (out.diagnostics.size() > kMaxDiagnostics) {
        std::size_t more = out.diagnostics.size() - kMaxDiagnostics;
        out.diagnostics.resize(kMaxDiagnostics);
        out.diagnostics.push_back({Severity::Error, {path.string(), 0, 0},
                                   std::to_string(more) + " more problems not shown",
                                   "fix the ones above and run the check again"});
    }
    return out;
}

}  // namespace netlab::model
