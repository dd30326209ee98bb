// `mvrl-run plugins --describe NAME` lists every parameter of each new dataset plugin's schema.
#include "dataset_support.hpp"

TEST(DatasetPlugins, DescribeListsEveryParameter) {
    for (const char* plugin : {"mat", "augmented", "polymnist-quadrant"}) dataset_test::expect_describe_lists_every_parameter(plugin);
}
