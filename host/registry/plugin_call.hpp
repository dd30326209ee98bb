// Calling into a plugin from the host: a caller-owned error buffer, and a check that turns a
// failed status into an exception naming the plugin, its file and the call.
#pragma once

#include <array>
#include <stdexcept>
#include <string>

#include <mvrl/abi.h>

#include "plugin_registry.hpp"

namespace mvrl::host {

inline const char* status_name(mvrl_status s) {
    switch (s) {
    case MVRL_OK: return "ok";
    case MVRL_ERR_INVALID_ARGUMENT: return "invalid argument";
    case MVRL_ERR_RUNTIME: return "runtime error";
    case MVRL_ERR_OUT_OF_MEMORY: return "out of memory";
    case MVRL_ERR_UNSUPPORTED: return "unsupported";
    case MVRL_ERR_IO: return "I/O error";
    }
    return "unknown status";
}

class PluginCallError : public std::runtime_error {
public:
    PluginCallError(const std::string& what, mvrl_status status) : std::runtime_error(what), status(status) {}
    mvrl_status status;
};

// The mvrl_error a call writes into; reset before each call.
class ErrorBuffer {
public:
    mvrl_error* get() {
        text_[0] = '\0';
        error_ = {sizeof(mvrl_error), text_.data(), text_.size()};
        return &error_;
    }
    std::string text() const { return text_.data(); }

private:
    std::array<char, 4096> text_{};
    mvrl_error error_{};
};

// Where a value came from: "dataset 'x' (/path/libx.so) info()". Every error about what a
// plugin returned starts with it, so the message names the plugin, its file and the call.
inline std::string call_site(const Plugin& plugin, const char* call) {
    return std::string(kind_name(plugin.kind)) + " '" + plugin.name + "' (" + plugin.path.string() + ") " + call + "()";
}

// A plugin call succeeded but returned something the host cannot use.
class PluginResultError : public std::runtime_error {
public:
    PluginResultError(const Plugin& plugin, const char* call, const std::string& what)
        : std::runtime_error(call_site(plugin, call) + ": " + what) {}
};

// "plugin 'x' (/path/libx.so) failed in call: status[: message]".
inline PluginCallError failed_call(const Plugin& plugin, const char* call, mvrl_status status, const std::string& message) {
    return PluginCallError("plugin '" + plugin.name + "' (" + plugin.path.string() + ") failed in " + call + ": " +
                               status_name(status) + (message.empty() ? "" : ": " + message),
                           status);
}

inline void check_call(mvrl_status status, const ErrorBuffer& err, const Plugin& plugin, const char* call) {
    if (status != MVRL_OK) throw failed_call(plugin, call, status, err.text());
}

}  // namespace mvrl::host
