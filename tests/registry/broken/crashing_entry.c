/* A library whose mvrl_plugin_entry crashes (SIGSEGV): describing it kills the process that
 * loads it, which is mvrl-worker, never mvrl-run. Kept out of broken-plugins/, which the registry
 * test loads in its own process. */
#include <signal.h>

#include <mvrl/abi.h>

MVRL_EXPORT const mvrl_plugin_descriptor* mvrl_plugin_entry(void) {
    raise(SIGSEGV);
    return 0;
}
