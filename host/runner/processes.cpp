#include "processes.hpp"

#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

namespace mvrl::host {

std::string this_host_name() {
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    return name;
}

namespace {

std::string command_line_of(int64_t pid) {
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
    return std::string((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
}

}  // namespace

bool worker_process_alive(int64_t pid) {
    if (pid <= 0 || kill(pid_t(pid), 0) != 0) return false;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');  // "pid (comm) S ppid ...": the state follows the command name
    if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z') {
        // A dead worker not yet reaped: its coordinator, when alive, reaps it and records how it
        // died (a signal the store cannot tell); under a parent that never reaps, it is gone.
        long long parent = 0;
        std::istringstream(line.substr(close + 3)) >> parent;
        return parent > 1 && command_line_of(parent).find("mvrl-run") != std::string::npos;
    }
    std::string args = command_line_of(pid);
    return args.find("mvrl-") != std::string::npos || args.empty();  // empty: /proc not readable
}

void export_worker_thread_environment(int threads, int workers) {
    if (threads > 0) setenv("OPENBLAS_NUM_THREADS", std::to_string(threads).c_str(), /*overwrite=*/0);
    if (workers > 1) setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
}

std::string loaded_library_path(const std::string& name_prefix) {
    struct Search {
        const std::string& prefix;
        std::string found;
    } search{name_prefix, ""};
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
            auto* s = static_cast<Search*>(data);
            std::string path = info->dlpi_name ? info->dlpi_name : "";
            std::string file = path.substr(path.rfind('/') + 1);
            if (file.rfind(s->prefix, 0) != 0) return 0;
            s->found = path;
            return 1;
        },
        &search);
    // The loader reports the name it opened (an alternatives link); the file behind it says which BLAS.
    char resolved[PATH_MAX];
    return !search.found.empty() && realpath(search.found.c_str(), resolved) ? std::string(resolved) : search.found;
}

}  // namespace mvrl::host
