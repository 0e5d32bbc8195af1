// The reads behind netlabd's fast path for a reload that changes nothing
// (reconcile/watch/fast_reload.hpp decides): what a reconcile's input is, as
// bytes, and which namespace each container target leads to, as far as a
// stat() can tell — both without a netlink request or a Docker API call.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "model/topology.hpp"
#include "reconcile/containers/target.hpp"

namespace netlab::daemon {

// The bytes of what load_config(config) reads: the file itself, or
// DIR/topology.yaml and every file in DIR/topology.d (names and contents,
// in name order). A missing file reads as a marker of its own.
std::string config_bytes(const std::filesystem::path& config);
// The ledger the engine keeps in the state directory (adopted links).
std::string ledger_bytes(const std::filesystem::path& state_dir);
// A reconcile's whole input: config_bytes + ledger_bytes.
std::string input_bytes(const std::string& config, const std::string& ledger);

// "inode N" of the namespace a netns:, pid: or path: target names (a stat
// of /run/netns/NAME, /proc/PID/ns/net or the path), "absent: ..." when it
// cannot be stat'ed, and "docker" for docker: targets (the Docker events say
// when those change).
std::string target_identity(const model::NetnsTarget& target, const reconcile::ResolverOptions& resolver);
std::map<std::string, std::string> target_identities(const std::map<std::string, model::Container>& containers,
                                                     const reconcile::ResolverOptions& resolver);

}  // namespace netlab::daemon
