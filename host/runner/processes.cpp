#include "processes.hpp"

#include <signal.h>
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

}  // namespace mvrl::host
