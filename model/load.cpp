// Loading: finds the files (topology.yaml, then topology.d/*.yaml and *.yml
// in name order), reads each (reader.cpp, behind the guards of guard.cpp), merges
// them (merge.cpp) and validates the result (validate.cpp), capping the
// number of diagnostics reported.
#include "model/load.hpp"

#include <algorithm>
#include <system_error>
#include <utility>

#include "model/guard.hpp"
#include "model/load_detail.hpp"
#include "model/merge.hpp"
#include "model/parse_cache.hpp"
#include "model/reader.hpp"

namespace netlab::model {

namespace fs = std::filesystem;

namespace {

void add_document(Loaded& out, std::string_view text, const std::string& file, bool drop_in,
                  ParseCache* cache = nullptr) {
    Loaded one;
    if (cache) one = cache->read(text, file, out.topology.routes.size(), drop_in);  // a copy: merge_file takes from it
    else read_document(text, file, out.topology.routes.size(), one, drop_in);
    merge_file(out, one, file);
}

// Validation runs even after loading errors, so every problem is reported
// at once; values that failed to load are left out (routes stay as
// placeholders of family 0, which validate() skips).
void finish(Loaded& out, const std::string& where) {
    validate(out.topology, out.sources, out.diagnostics);
    if (out.diagnostics.size() > kMaxDiagnostics) {
        std::size_t more = out.diagnostics.size() - kMaxDiagnostics;
        out.diagnostics.resize(kMaxDiagnostics);
        out.diagnostics.push_back({Severity::Error, {where, 0, 0}, std::to_string(more) + " more problems not shown",
                                   "fix the ones above and run the check again"});
    }
}

}  // namespace

bool is_dropin_name(std::string_view name) {
    if (name.empty() || name.front() == '.') return false;
    auto ends = [&](std::string_view suffix) {
        return name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
    };
    return ends(".yaml") || ends(".yml");
}

Loaded load_documents(const std::vector<Document>& docs) {
    Loaded out;
    for (const auto& d : docs) {
        out.files.push_back(d.file);
        add_document(out, d.text, d.file, d.drop_in);
    }
    finish(out, docs.empty() ? std::string() : docs.front().file);
    return out;
}

Loaded load_string(std::string_view yaml, const std::string& file) {
    Loaded out;
    out.files.push_back(file);
    read_document(yaml, file, 0, out, false);
    return out;
}

namespace {

Loaded load_files(const fs::path& path, EmptyDir empty, ParseCache* cache) {
    Loaded out;
    // Every way out of this load ends it, so a file no longer read (all of
    // them, when the directory is now empty) is not kept.
    struct EndLoad {
        ParseCache* cache;
        ~EndLoad() {
            if (cache) cache->end();
        }
    } end_load{cache};
    if (cache) cache->begin();
    std::error_code ec;
    std::vector<std::pair<fs::path, bool>> files;  // (path, is drop-in)
    if (fs::is_directory(path, ec)) {
        fs::path main = path / kMainFile;
        fs::path dropDir = path / kDropinDir;
        std::vector<fs::path> drops;
        if (fs::is_directory(dropDir, ec)) {
            for (fs::directory_iterator it(dropDir, ec), end; !ec && it != end; it.increment(ec)) {
                std::string fname = it->path().filename().string();
                if (!is_dropin_name(fname)) continue;
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
                                       "is a directory, but holds neither topology.yaml nor topology.d/*.yaml or *.yml",
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
        if (text) add_document(out, *text, file, dropIn, cache);
    }
    finish(out, path.string());
    return out;
}

}  // namespace

Loaded load_config(const fs::path& path, EmptyDir empty) { return load_files(path, empty, nullptr); }

Loaded load_config(const fs::path& path, EmptyDir empty, ParseCache& cache) { return load_files(path, empty, &cache); }

}  // namespace netlab::model
