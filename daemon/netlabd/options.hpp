// netlabd's command line.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace netlab::daemon {

struct Options {
    std::filesystem::path config_dir = "/etc/netlab";
    std::filesystem::path state_dir = "/run/netlab";
    std::filesystem::path socket = "/run/netlab/netlabd.sock";
    // Docker Engine API socket for docker: containers (--docker-socket, else
    // $NETLAB_DOCKER_SOCKET, else /var/run/docker.sock).
    std::string docker_socket;
    std::string status_group;  // may ask `status` besides root; empty: root only
    std::chrono::milliseconds debounce{200};   // quiet time after the last file event
    std::chrono::milliseconds max_delay{3000}; // a steady stream of events still reconciles this often
    std::string log_level = "info";
    // Prometheus text format, written durably after every job; empty: none.
    std::filesystem::path metrics_file;
    // Revisions kept in the state directory (reconcile/apply/revision.hpp).
    std::size_t revisions = 50;
};

// Exit code of a command line netlabd cannot parse.
inline constexpr int kUsageError = 2;

// Parses argv (argv[0] is the program). Returns nullopt after printing help
// or the version to `out` (exit_code 0) or a usage error to `err`
// (exit_code kUsageError).
std::optional<Options> parse_options(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err,
                                     int& exit_code);
std::optional<Options> parse_options(int argc, char** argv, int& exit_code);  // on std::cout/std::cerr

}  // namespace netlab::daemon
