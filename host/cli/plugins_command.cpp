// mvrl-run plugins [--describe NAME]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <boost/program_options.hpp>

#include <mvrl/params.hpp>

#include "commands.hpp"
#include "registry/plugin_registry.hpp"

namespace mvrl::cli {

namespace {

namespace po = boost::program_options;
using host::Plugin;
using host::PluginRegistry;

void list_plugins(const PluginRegistry& registry) {
    std::printf("%-22s %-10s %-8s %-5s %-8s %s\n", "NAME", "KIND", "VERSION", "ABI", "TORCH", "PATH");
    for (const Plugin& p : registry.plugins()) {
        std::string abi = std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor);
        std::printf("%-22s %-10s %-8s %-5s %-8s %s\n", p.name.c_str(), host::kind_name(p.kind), p.version.c_str(),
                    abi.c_str(), p.torch_version.empty() ? "-" : p.torch_version.c_str(), p.path.c_str());
    }
    if (registry.plugins().empty()) std::printf("(no plugins found)\n");
    if (!registry.refusals().empty()) {
        std::printf("\nrefused:\n");
        for (const auto& r : registry.refusals()) std::printf("  %s: %s\n", r.path.c_str(), r.reason.c_str());
    }
}

std::string format_bound(double x) {
    if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
    if (x == std::floor(x) && std::fabs(x) < 1e15) return std::to_string(static_cast<long long>(x));
    return json(x).dump();
}

std::string describe_range(const ParamSpec& s) {
    std::string range;
    if (!s.choices.empty()) {
        for (const auto& c : s.choices) range += (range.empty() ? "" : "|") + c;
        return range;
    }
    if (s.min || s.max)
        range = "[" + format_bound(s.min.value_or(-HUGE_VAL)) + ", " + format_bound(s.max.value_or(HUGE_VAL)) + "]";
    return range;
}

void describe_plugin(const Plugin& p) {
    std::printf("%s %s (%s)\n  %s\n  file: %s\n  ABI %u.%u, libtorch %s\n\nparameters:\n", p.name.c_str(),
                p.version.c_str(), host::kind_name(p.kind), p.description.c_str(), p.path.c_str(), p.abi_major,
                p.abi_minor, p.torch_version.empty() ? "not used" : p.torch_version.c_str());
    auto schema = ParamSchema::from_json(p.params_schema_json);
    if (schema.specs().empty()) std::printf("  (none)\n");
    std::printf("  %-18s %-10s %-12s %-16s %s\n", "NAME", "TYPE", "DEFAULT", "RANGE", "DOC");
    for (const auto& s : schema.specs())
        std::printf("  %-18s %-10s %-12s %-16s %s\n", s.name.c_str(), to_string(s.type), s.default_value.dump().c_str(),
                    describe_range(s).c_str(), s.doc.c_str());
}

}  // namespace

int run_plugins_command(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("mvrl-run plugins [options]");
    options.add_options()("help,h", "show this help")("describe", po::value<std::string>(),
                                                       "show one plugin's description and every parameter");
    po::variables_map vm;
    if (auto exit = parse_command_options("plugins", args, options, vm)) return *exit;
    PluginRegistry registry = load_registry(global);
    if (!vm.count("describe")) {
        list_plugins(registry);
        return kExitOk;
    }
    const std::string name = vm["describe"].as<std::string>();
    const Plugin* p = registry.find(name);
    if (!p) {
        std::cerr << "mvrl-run plugins: no plugin named '" << name << "'; loaded:";
        for (const auto& q : registry.plugins()) std::cerr << " " << q.name;
        std::cerr << "\n";
        return kExitUsage;
    }
    describe_plugin(*p);
    return kExitOk;
}

}  // namespace mvrl::cli
