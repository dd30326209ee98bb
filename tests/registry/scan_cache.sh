#!/usr/bin/env bash
# mvrl-run learns its plugins from mvrl-worker's descriptions, cached by file digest: libtorch never
# enters the mvrl-run process, an unchanged library is not described twice, a changed or new one
# is, a corrupt cache is ignored, a library that crashes is named, and refusals read as before.
#   usage: scan_cache.sh <case> <mvrl-run> <plugin dir> <broken-plugins dir> <crashing-plugins dir> <experiments dir>
set -euo pipefail
CASE=$1 MVRL_RUN=$2 PLUGIN_DIR=$3 BROKEN_DIR=$4 CRASHING_DIR=$5 EXPERIMENTS=$6
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export MVRL_CACHE_DIR=$WORK/cache
unset MVRL_PLUGIN_PATH
ulimit -c 0  # the crashing library's SIGSEGV leaves no core file behind

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"; }
expect_match() { [[ "$1" =~ $2 ]] || fail "$3: '$1' does not match /$2/"; }
expect_no_match() { [[ ! "$1" =~ $2 ]] || fail "$3: '$1' matches /$2/"; }

# A copy of mvrl-run beside an mvrl-worker that logs each call before running the real one: each
# line of $DESCRIBED is one describe subprocess, with the files it was given.
DESCRIBED=$WORK/described.log
mkdir -p "$WORK/bin" "$WORK/libs"
cp "$MVRL_RUN" "$WORK/bin/mvrl-run"
cat > "$WORK/bin/mvrl-worker" <<SCRIPT
#!/bin/sh
echo "\$*" >> "$DESCRIBED"
exec "$(dirname "$MVRL_RUN")/mvrl-worker" "\$@"
SCRIPT
chmod +x "$WORK/bin/mvrl-worker"
: > "$DESCRIBED"
list() { "$WORK/bin/mvrl-run" --plugin-path "$@" plugins; }
describe_calls() { wc -l < "$DESCRIBED" | tr -d ' '; }
last_call() { tail -n 1 "$DESCRIBED"; }

# Runs mvrl-run with the loader logging every library it maps, into $WORK/ld.<pid> per process.
# Sets LD_OF_RUN to mvrl-run's own log and WORKER_LOGS to the others' (the describe subprocess).
run_with_loader_log() {
  rm -f "$WORK"/ld.*
  LD_DEBUG=files LD_DEBUG_OUTPUT=$WORK/ld "$MVRL_RUN" "$@" > "$WORK/out" &
  local pid=$!
  wait "$pid" || fail "mvrl-run $* failed: $(cat "$WORK/out")"
  LD_OF_RUN=$WORK/ld.$pid
  [[ -s $LD_OF_RUN ]] || fail "no loader log of mvrl-run (pid $pid): $(ls "$WORK")"
  grep -q "libsqlite3" "$LD_OF_RUN" || fail "the loader log of mvrl-run does not show its own libraries"
  WORKER_LOGS=$(ls "$WORK"/ld.* | grep -vx "$LD_OF_RUN" || true)
}
expect_no_libtorch_in_run() {
  ! grep -q "libtorch" "$LD_OF_RUN" || fail "$1: libtorch was loaded into mvrl-run: $(grep -m3 libtorch "$LD_OF_RUN")"
}

keeps_libtorch_out_of_mvrl_run() {
  # Cold: the built plugins (torch ones among them) are described by a worker, which loads libtorch.
  run_with_loader_log plugins
  expect_no_libtorch_in_run "plugins, cold cache"
  [[ -n $WORKER_LOGS ]] && grep -q "libtorch" $WORKER_LOGS || fail "the describe subprocess did not load libtorch"
  expect_match "$(cat "$WORK/out")" "linear-ae +model .* 1\.13" "a torch plugin listed"
  # Warm: no subprocess at all.
  run_with_loader_log plugins
  expect_no_libtorch_in_run "plugins, warm cache"
  expect_eq "$WORKER_LOGS" "" "processes started by a warm plugins call"
  run_with_loader_log sweep --dry-run "$EXPERIMENTS/ablation.toml" --db "$WORK/none.sqlite"
  expect_no_libtorch_in_run "sweep --dry-run, warm cache"
  expect_eq "$WORKER_LOGS" "" "processes started by a warm dry run"
  rm -rf "$MVRL_CACHE_DIR"
  run_with_loader_log sweep --dry-run "$EXPERIMENTS/ablation.toml" --db "$WORK/none.sqlite"
  expect_no_libtorch_in_run "sweep --dry-run, cold cache"
  expect_match "$(cat "$WORK/out")" "KEY +STATUS +VARIANT" "the dry run's plan"
}

describes_only_new_or_changed_files() {
  cp "$BROKEN_DIR/good-fake.so" "$WORK/libs/a.so"
  cp "$BROKEN_DIR/duplicate-a.so" "$WORK/libs/b.so"
  local first second
  first=$(list "$WORK/libs")
  expect_eq "$(describe_calls)" 1 "describe calls, cold"
  expect_match "$first" "good-fake +metric.*duplicate-metric +metric" "both plugins"
  second=$(list "$WORK/libs")
  expect_eq "$(describe_calls)" 1 "describe calls after an unchanged second call"
  expect_eq "$second" "$first" "the warm listing"
  touch "$WORK/libs/a.so"  # a new modification time, the same bytes: the digest decides
  expect_eq "$(list "$WORK/libs")" "$first" "the listing after touch"
  expect_eq "$(describe_calls)" 1 "describe calls after touching a file"
  cp "$BROKEN_DIR/wrong-abi-major.so" "$WORK/libs/b.so"
  local changed
  changed=$(list "$WORK/libs")
  expect_eq "$(describe_calls)" 2 "describe calls after a file changed"
  expect_match "$(last_call)" "/b\.so$" "the changed file described"
  expect_no_match "$(last_call)" "a\.so" "the unchanged file described again"
  expect_match "$changed" "b\.so: ABI major mismatch: built against mvrl ABI 2\.0" "the changed file's refusal"
  expect_no_match "$changed" "duplicate-metric" "the changed file's old plugin"
  cp "$BROKEN_DIR/other-torch.so" "$WORK/libs/c.so"
  expect_match "$(list "$WORK/libs")" "c\.so: plugin 'other-torch': built against libtorch 0\.0\.0-other" "a new file"
  expect_eq "$(describe_calls)" 3 "describe calls after a file was added"
  expect_match "$(last_call)" "^--describe-plugins [^ ]*/c\.so$" "only the new file described"
}

ignores_a_corrupt_cache() {
  cp "$BROKEN_DIR/good-fake.so" "$WORK/libs/a.so"
  local first cache
  first=$(list "$WORK/libs")
  cache=$(ls "$MVRL_CACHE_DIR"/plugins-*.json)
  printf '{"format": 1, "libraries": {' > "$cache"  # cut short
  expect_eq "$(list "$WORK/libs" 2>&1)" "$first" "the listing with a truncated cache"
  expect_eq "$(describe_calls)" 2 "describe calls with a truncated cache"
  grep -q '"sha256":"' "$cache" || fail "the cache was not written again: $(cat "$cache")"
  sed -i 's/"sha256":"/"sha256":7,"was":"/' "$cache"  # valid JSON, wrong types
  expect_eq "$(list "$WORK/libs" 2>&1)" "$first" "the listing with a mistyped cache"
  expect_eq "$(describe_calls)" 3 "describe calls with a mistyped cache"
  list "$WORK/libs" > /dev/null
  expect_eq "$(describe_calls)" 3 "describe calls once the cache is whole again"
}

names_a_crashing_library() {
  cp "$BROKEN_DIR/good-fake.so" "$WORK/libs/a.so"
  cp "$CRASHING_DIR/crashing-entry.so" "$WORK/libs/crash.so"
  local out code
  set +e
  out=$(list "$WORK/libs" 2>&1)
  code=$?
  set -e
  expect_eq "$code" 0 "exit code of plugins with a crashing library"
  expect_match "$out" "good-fake +metric" "the good plugin beside the crashing one"
  expect_match "$out" "mvrl-run: mvrl-worker was killed by signal 11 \(SIGSEGV, Segmentation fault\) while describing plugin library [^ ]*/crash\.so; it is refused" \
    "the warning naming the crashing file"
  expect_match "$out" "refused:.*/crash\.so: mvrl-worker was killed by signal 11 \(SIGSEGV" "the crashing file's refusal"
  expect_eq "$(describe_calls)" 3 "describe calls: both files, then each half"
  expect_match "$(last_call)" "^--describe-plugins [^ ]*/crash\.so$" "the crashing file described alone"
  list "$WORK/libs" > /dev/null 2>&1
  expect_eq "$(describe_calls)" 4 "describe calls on the next call (a crash is not cached)"
  expect_match "$(last_call)" "^--describe-plugins [^ ]*/crash\.so$" "only the crashing file described again"
}

reports_refusals_as_before() {
  local out
  out=$(list "$BROKEN_DIR" --plugin-path "$PLUGIN_DIR" --plugin-path "$WORK/nowhere")
  for expected in \
      "missing-entry\.so: no entry symbol 'mvrl_plugin_entry': not an mvrl plugin" \
      "wrong-abi-major\.so: ABI major mismatch: built against mvrl ABI 2\.0, this host speaks ABI 1\.x; rebuild" \
      "small-descriptor\.so: descriptor too small: struct_size 12 bytes, ABI 1\.0 needs at least" \
      "other-torch\.so: plugin 'other-torch': built against libtorch 0\.0\.0-other, this host runs libtorch 1\.13" \
      "duplicate-b\.so: duplicate plugin name 'duplicate-metric': already loaded from [^ ]*/duplicate-a\.so \(the first found" \
      "not-a-library\.so: cannot be loaded: .*not-a-library\.so: (invalid ELF header|file too short)" \
      "nowhere: plugin path does not exist or is not a folder or file"; do
    expect_match "$out" "$expected" "a refusal"
  done
  expect_match "$out" "good-fake +metric.*linear-ae +model" "the good plugins kept"
  expect_eq "$(list "$BROKEN_DIR" --plugin-path "$PLUGIN_DIR" --plugin-path "$WORK/nowhere")" "$out" "the warm listing"
  expect_eq "$(describe_calls)" 1 "describe calls"
}

concurrent_cold_calls_agree() {
  cp "$BROKEN_DIR"/*.so "$WORK/libs/"
  for i in 1 2 3 4; do list "$WORK/libs" --plugin-path "$PLUGIN_DIR" > "$WORK/out.$i" & done
  wait
  for i in 2 3 4; do cmp "$WORK/out.1" "$WORK/out.$i" || fail "concurrent listings differ: $(diff "$WORK/out.1" "$WORK/out.$i")"; done
  local calls
  calls=$(describe_calls)
  expect_eq "$(list "$WORK/libs" --plugin-path "$PLUGIN_DIR")" "$(cat "$WORK/out.1")" "the listing after them"
  expect_eq "$(describe_calls)" "$calls" "describe calls after concurrent writers left the cache"
  [[ -z $(ls "$MVRL_CACHE_DIR" | grep -v '^plugins-[0-9a-f]*\.json$') ]] || fail "files left in the cache: $(ls "$MVRL_CACHE_DIR")"
}

"$CASE"
echo "ok"
