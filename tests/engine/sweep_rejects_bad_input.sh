#!/usr/bin/env bash
# Bad input: a clear error naming file, line:column or key, exit code 2, and nothing written.
source "$(dirname "$0")/lib.sh"

write_experiment() {  # write_experiment FILE [extra TOML appended]
  cat > "$1" <<TOML
[experiment]
name = "bad-input"
seeds = [0]
device = "cpu"

[dataset]
plugin = "multiview-synthetic"
params = { n = 50 }

[model]
plugin = "linear-ae"
params = { epochs = 1 }
TOML
  if [[ $# -gt 1 ]]; then printf '%s\n' "$2" >> "$1"; fi
}

# rejects NAME FILE REGEX [sweep args...]: exit 2, message matches, no database written.
rejects() {
  local name=$1 file=$2 regex=$3
  shift 3
  set +e
  local out
  out=$(sweep "$file" "$@" 2>&1)
  local code=$?
  set -e
  expect_eq "$code" 2 "$name: exit code"
  expect_match "$out" "$regex" "$name: message"
  [[ ! -e $DB ]] || fail "$name: a database was written"
}

f=$WORK/syntax.toml
write_experiment "$f" $'[train]\nbatch_size = = 3'
rejects "syntax error" "$f" "syntax\.toml:14:14: TOML syntax error"

f=$WORK/unknown-key.toml
write_experiment "$f"
sed -i 's/^seeds = \[0\]/seds = [0]/' "$f"
rejects "unknown key" "$f" "unknown-key\.toml:3:1: unknown key 'seds' in \[experiment\] \(did you mean 'seeds'\?\)"

f=$WORK/unknown-section.toml
write_experiment "$f" $'[modle]\nplugin = "x"'
rejects "unknown section" "$f" "unknown-section\.toml:13:2: unknown key 'modle' in the experiment \(did you mean 'model'\?\)"

f=$WORK/unknown-plugin.toml
write_experiment "$f"
sed -i 's/plugin = "linear-ae"/plugin = "linear-ea"/' "$f"
rejects "unknown plugin" "$f" "unknown-plugin\.toml: variant 'baseline': no model plugin named 'linear-ea'; model plugins found: .*linear-ae"

f=$WORK/wrong-type.toml
write_experiment "$f"
sed -i 's/params = { epochs = 1 }/params = { epochs = 1, latent_dim = "two" }/' "$f"
rejects "wrong parameter type" "$f" "parameter 'latent_dim' of plugin 'linear-ae': expected int, got string \"two\""

f=$WORK/bad-ablation.toml
write_experiment "$f" $'[[ablation]]\nname = "typo"\n"model.params.lattent_dim" = 3'
rejects "unknown parameter in an ablation" "$f" "variant 'typo': unknown parameter 'lattent_dim' for plugin 'linear-ae' \(did you mean 'latent_dim'\?\)"

f=$WORK/empty-grid.toml
write_experiment "$f" $'[sweep]\n"model.params.lr" = []'
rejects "empty grid" "$f" "empty-grid\.toml:14:21: \[sweep\] \"model.params.lr\" is an empty list"

f=$WORK/bad-set.toml
write_experiment "$f"
rejects "bad --set value" "$f" "parameter 'epochs' of plugin 'linear-ae': expected int, got string \"many\"" --set model.params.epochs=many

f=$WORK/good.toml
write_experiment "$f"
: > "$WORK/not-a-folder"
set +e
out=$(mvrl sweep "$f" --db "$WORK/not-a-folder/mvrl.sqlite" 2>&1)
code=$?
set -e
expect_eq "$code" 2 "unwritable --db: exit code"
expect_match "$out" "cannot create the folder of database '$WORK/not-a-folder/mvrl.sqlite'" "unwritable --db: message"

mkdir -p "$(dirname "$DB")"
sqlite3 "$DB" "create table meta (key text primary key, value text not null); insert into meta values ('schema_version', '99');"
set +e
out=$(sweep "$f" 2>&1)
code=$?
set -e
expect_eq "$code" 2 "newer schema: exit code"
expect_match "$out" "schema version 99 is newer than this mvrl-run knows \([0-9]+\): upgrade mvrl" "newer schema: message"
expect_eq "$(q "select count(*) from sqlite_master where name = 'runs'")" 0 "newer schema: nothing written"
echo "ok"
