// Reading a reconcile's input and where container targets lead, for the
// fast path (reload_input.hpp).
#include "netlabd/reload_input.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "reconcile/apply/state_dir.hpp"

namespace netlab::daemon {

namespace fs = std::filesystem;

namespace {

void append_file(std::string& out, const fs::path& p) {
    out += p.string();
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        out += std::string("\0missing\0", 9);
        return;
    }
    std::stringstream text;
    text << in.rdbuf();
    const std::string bytes = text.str();
    out += '\0' + std::to_string(bytes.size()) + '\0';
    out += bytes;
}

}  // namespace

std::string config_bytes(const fs::path& config) {
    std::string out;
    std::error_code ec;
    if (!fs::is_directory(config, ec)) {
        append_file(out, config);
        return out;
    }
    append_file(out, config / "topology.yaml");
    std::vector<fs::path> more;
    for (fs::directory_iterator it(config / "topology.d", ec), end; !ec && it != end; it.increment(ec))
        more.push_back(it->path());
    std::sort(more.begin(), more.end());
    for (const auto& p : more) append_file(out, p);
    return out;
}

std::string ledger_bytes(const fs::path& state_dir) {
    const auto text = reconcile::StateDirectory(state_dir).ledger_text();
    if (!text) return std::string("ledger\0missing\0", 15);
    return "ledger" + ('\0' + std::to_string(text->size()) + '\0') + *text;
}

std::string input_bytes(const std::string& config, const std::string& ledger) {
    return config + std::string("\0ledger\0", 8) + ledger;
}

std::string target_identity(const model::NetnsTarget& target, const reconcile::ResolverOptions& resolver) {
    fs::path p;
    switch (target.kind) {
    case model::NetnsTarget::Kind::Docker: return "docker";
    case model::NetnsTarget::Kind::Netns: p = fs::path(resolver.netns_dir) / target.value; break;
    case model::NetnsTarget::Kind::Pid: p = fs::path("/proc") / target.value / "ns/net"; break;
    case model::NetnsTarget::Kind::Path: p = target.value; break;
    }
    struct stat st{};
    if (::stat(p.c_str(), &st) != 0) return "absent: " + p.string() + ": " + std::strerror(errno);
    return "inode " + std::to_string(st.st_ino) + " dev " + std::to_string(st.st_dev);
}

std::map<std::string, std::string> target_identities(const std::map<std::string, model::Container>& containers,
                                                     const reconcile::ResolverOptions& resolver) {
    std::map<std::string, std::string> out;
    for (const auto& [name, c] : containers) out[name] = target_identity(c.netns, resolver);
    return out;
}

}  // namespace netlab::daemon
