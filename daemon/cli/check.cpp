// netlabctl check [PATH] [--json]: load, merge and validate without touching
// anything. PATH is a config directory or a single file of any name (Ansible's
// `validate: netlabctl check %s` hands over a temporary file).
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/json_out.hpp"
#include "model/load.hpp"

namespace netlab::cli {

namespace {

const char* severity_name(model::Severity s) { return s == model::Severity::Error ? "error" : "warning"; }

std::string plural(std::size_t n, const char* word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

int check(const LocalOptions& o) {
    const std::string& path = o.path;
    const bool json = o.json;

    model::Loaded loaded = model::load_config(path);
    std::size_t errors = 0, warnings = 0;
    for (const auto& d : loaded.diagnostics) (d.severity == model::Severity::Error ? errors : warnings)++;

    if (json) {
        nlohmann::json diags = nlohmann::json::array();
        for (const auto& d : loaded.diagnostics)
            diags.push_back({{"severity", severity_name(d.severity)},
                           {"file", d.where.file},
                           {"line", d.where.line},
                           {"col", d.where.col},
                           {"message", d.message},
                           {"hint", d.hint}});
        print_json({{"status", errors ? "invalid" : "valid"},
                    {"ok", errors == 0},
                    {"errors", errors},
                    {"warnings", warnings},
                    {"diagnostics", diags}});
        return errors ? 1 : 0;
    }

    for (const auto& d : loaded.diagnostics) {
        std::fprintf(stderr, "%s: %s: %s\n", d.where.str().c_str(), severity_name(d.severity), d.message.c_str());
        if (!d.hint.empty()) std::fprintf(stderr, "  hint: %s\n", d.hint.c_str());
    }
    if (errors || warnings)
        std::fprintf(stderr, "%s, %s\n", plural(errors, "error").c_str(), plural(warnings, "warning").c_str());
    if (errors) return 1;
    const auto& t = loaded.topology;
    std::printf("%s: valid (%s, %s, %s, %s from %s)\n", path.c_str(), plural(t.interfaces.size(), "interface").c_str(),
                plural(t.routes.size(), "route").c_str(), plural(t.networks.size(), "network").c_str(),
                plural(t.containers.size(), "container").c_str(), plural(loaded.files.size(), "file").c_str());
    return 0;
}

}  // namespace netlab::cli
