#include "processes.hpp"

#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace mvrl::host {

std::string this_host_name() {
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    return name;
}

std::string describe_signal(int sig) {
    const char* name = sigabbrev_np(sig);
    return std::to_string(sig) + " (SIG" + (name ? name : "?") + ", " + strsignal(sig) + ")";
}

bool CapturedOutput::succeeded() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string CapturedOutput::how_it_ended() const {
    if (WIFSIGNALED(status)) return "was killed by signal " + describe_signal(WTERMSIG(status));
    return "exited with code " + std::to_string(WEXITSTATUS(status));
}

CapturedOutput run_capturing_stdout(const std::vector<std::string>& argv) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error(std::string("cannot make a pipe: ") + strerror(errno));
    std::vector<std::string> args = argv;
    std::vector<char*> c_argv;
    for (auto& a : args) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("cannot start " + argv[0] + ": " + strerror(errno));
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]), close(out[1]);
        int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, STDIN_FILENO);
        execv(c_argv[0], c_argv.data());
        _exit(127);
    }
    close(out[1]);
    CapturedOutput result;
    char buffer[65536];
    for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) != 0;) {
        if (n > 0) result.out.append(buffer, size_t(n));
        else if (errno != EINTR) break;
    }
    close(out[0]);
    while (waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {}
    return result;
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
