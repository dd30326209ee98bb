/* Compiled by CTest with -std=c99 -pedantic-errors -Werror: abi.h must stay plain C. */
#include <mvrl/abi.h>

int main(void) {
    mvrl_plugin_descriptor d = {sizeof(mvrl_plugin_descriptor), MVRL_ABI_VERSION_MAJOR, MVRL_ABI_VERSION_MINOR, 0, 0};
    return MVRL_PLUGIN_DESCRIPTOR_SIZE_V1_0 <= d.struct_size ? 0 : 1;
}
