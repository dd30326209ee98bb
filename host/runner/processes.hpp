// Facts about processes on this host, shared by the coordinator and the workers (no torch).
#pragma once

#include <cstdint>
#include <string>

namespace mvrl::host {

std::string this_host_name();

// Whether `pid` on this host is a live mvrl process (not a zombie, not a reused pid).
bool worker_process_alive(int64_t pid);

}  // namespace mvrl::host
