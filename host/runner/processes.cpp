#include "processes.hpp"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

namespace mvrl::host {

std::string this_host_name() {
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    return name;
}

bool worker_process_alive(int64_t pid) {
    if (pid <= 0 || kill(pid_t(pid), 0) != 0) return false;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');  // "pid (comm) S ...": the state follows the command name
    if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z') return false;
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
    std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    return args.find("mvrl-") != std::string::npos || args.empty();  // empty: /proc not readable
}

}  // namespace mvrl::host
