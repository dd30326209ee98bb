# Shared by the engine's integration tests: a fresh work folder, mvrl-run with the test plugins,
# and assertions that say what they expected.
#   usage in a test: source lib.sh <mvrl-run> <test plugin dir> <experiments dir>
set -euo pipefail
MVRL_RUN=$1
TEST_PLUGIN_DIR=$2
EXPERIMENTS=$3
WORK=$(mktemp -d)
DB=$WORK/results/mvrl.sqlite
DB_LOGS=$WORK/results/logs
cleanup() {
  pkill -KILL -f -- "--db $DB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mvrl() { "$MVRL_RUN" --plugin-path "$TEST_PLUGIN_DIR" "$@"; }
sweep() { mvrl sweep --db "$DB" "$@"; }
q() { sqlite3 -cmd ".timeout 30000" "$DB" "$1"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"; }
expect_match() { [[ "$1" =~ $2 ]] || fail "$3: '$1' does not match /$2/"; }

# wait_until "<shell condition>" <seconds>
wait_until() {
  local deadline=$((SECONDS + $2))
  until eval "$1"; do
    ((SECONDS < deadline)) || fail "timed out waiting for: $1"
    sleep 0.1
  done
}

# wait_for_exit <pid>: waits for a background command and sets $code to its exit status (errexit
# would otherwise end the test at a non-zero one).
wait_for_exit() {
  set +e
  wait "$1"
  code=$?
  set -e
}

# expect_rejected NAME REGEX SED-EXPRESSION: the experiment $exp edited by SED-EXPRESSION (written as
# $WORK/NAME.toml) is refused before anything runs: exit 2, a message matching REGEX, and no store
# ($WORK/bad.sqlite stays absent: check it after the calls).
expect_rejected() {
  local file=$WORK/$1.toml out code
  sed "$3" "$exp" > "$file"
  set +e
  out=$(mvrl sweep "$file" --db "$WORK/bad.sqlite" 2>&1)
  code=$?
  set -e
  expect_eq "$code" 2 "$1: exit code ($out)"
  expect_match "$out" "$2" "$1: message"
}
