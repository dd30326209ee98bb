#!/usr/bin/env bash
# Installs mvrl (host, plugins, SDK) into a temporary prefix, builds the example plugin out of tree
# against it with find_package(mvrl-sdk), and loads it with `mvrl-run plugins --plugin-path`.
set -euo pipefail
build_dir=$1
example_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" > "$work/install.log"
test -f "$work/prefix/include/mvrl/abi.h"
test -f "$work/prefix/lib/cmake/mvrl-sdk/mvrl-sdkConfig.cmake"

# Only the installed prefix: no path into mvrl's sources or build tree.
cmake -S "$example_dir" -B "$work/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log"
cmake --build "$work/example" > "$work/build.log"

listing=$("$work/prefix/bin/mvrl-run" plugins --plugin-path "$work/example")
echo "$listing"
grep -E "^fisher-ratio +metric +0\.1\.0 +1\.[0-9]+ " <<<"$listing"
# The installed host also finds its own plugins beside it (prefix/lib/mvrl/plugins).
grep -E "^nearest-centroid +metric .*$work/prefix/lib/mvrl/plugins/nearest-centroid.so" <<<"$listing"
if grep -q "^refused:" <<<"$listing"; then echo "unexpected refusals"; exit 1; fi

"$work/prefix/bin/mvrl-run" --plugin-path "$work/example" plugins --describe fisher-ratio | tee "$work/describe.txt"
grep -E "standardize +bool +false" "$work/describe.txt"
echo "out-of-tree plugin: OK"
