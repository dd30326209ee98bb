#!/usr/bin/env bash
# `mvrl-run report` on a small real sweep (a 3 × 2 grid, an ablation, 3 seeds), rendered by
# headless Chromium: the DOM holds each [[table]] with `mvrl-run table --format csv`'s values, each
# figure with as many lines, points, cells, curves and samples as the store says; the screenshot
# is not blank (kept in the artefact folder); bad figures and empty stores fail by name, exit 2.
#   usage: report_renders_in_chromium.sh <mvrl-run> <test plugins> <experiments> <artefact folder>
source "$(dirname "$0")/lib.sh"
ARTEFACTS=$4
mkdir -p "$ARTEFACTS"
command -v chromium >/dev/null || fail "chromium is not installed (scripts/setup installs Debian's chromium)"
chrome() {
  # A profile of its own, and no network: the page must not need one.
  chromium --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chrome" --proxy-server=127.0.0.1:9 \
    --proxy-bypass-list='<-loopback>' "$@" 2>/dev/null
}
exp=$EXPERIMENTS/report.toml

sweep "$exp" --jobs 2 > "$WORK/sweep.out" 2> "$WORK/sweep.err" || fail "sweep: $(cat "$WORK/sweep.err")"
grep -q "mvrl-run report $exp --db $DB" "$WORK/sweep.err" || fail "sweep does not print the report command: $(tail -3 "$WORK/sweep.err")"

page=$WORK/report.html
out=$(mvrl report "$exp" --db "$DB" -o "$page") || fail "report failed: $out"
expect_eq "$out" "$page" "report prints its path"
# Self-contained: nothing to fetch (the SVG namespace is a name, not a request).
if grep -Eq '<script[^>]* src=|<link |<img |url\(|@import' "$page"; then fail "the page references outside files"; fi
size=$(stat -c %s "$page")
((size < 2 * 1024 * 1024)) || fail "report is $size bytes"
# The default path: beside the store, named after the experiment.
mvrl report "$exp" --db "$DB" > /dev/null
[[ -f $WORK/results/engine-report.html ]] || fail "no report at the default path"

chrome --dump-dom "file://$page" > "$WORK/dom.html"
dom=$WORK/dom.html
grep -q '</html>' "$dom" || fail "chromium rendered nothing"

# ---- tables: one per [[table]], each value cell the CSV's mean ----
expect_eq "$(grep -c '<table class="result"' "$dom")" 2 "tables in the page"
table_means() {  # the data-mean of each value cell of the table named $1, in order
  sed -n "/<table class=\"result\" data-table=\"$1\"/,/<\/table>/p" "$dom" | grep '<tr class="row">' |
    grep -o 'class="value" data-mean="[^"]*"' | sed 's/.*data-mean="//; s/"$//'
}
csv_means() {  # the mean columns of `mvrl-run table --format csv --name $1`, rows in order, no published rows
  mvrl table "$exp" --db "$DB" --format csv --name "$1" | awk -F, -v label="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ / mean$/) cols[++n] = i; next }
    $1 != label { for (j = 1; j <= n; j++) if ($(cols[j]) != "") print $(cols[j]) }'
}
for t in "By width" "By variant"; do
  dom_values=$(table_means "$t")
  csv_values=$(csv_means "$t" "a published row")
  [[ -n $dom_values ]] || fail "table '$t' has no values in the page"
  expect_eq "$dom_values" "$csv_values" "table '$t': page values against the CSV"
done
expect_eq "$(grep -c '<tr class="row">' "$dom")" 8 "table rows (2 variants × 3 widths + 2 variants)"
grep -q '<tr class="published"><th colspan="2">a published row</th><td data-mean="91.5">91.5</td>' "$dom" ||
  fail "the published row is missing"
grep -q '<b>' "$dom" && grep -q '<u>' "$dom" || fail "no best (bold) or second (underlined) cell"

figure() {  # the lines of the figure named $1
  awk -v name="data-figure=\"$1\"" 'index($0, name) { on = 1 } on { print } on && /^<\/div>/ { exit }' "$dom"
}
# ---- line: one line per variant, one point per grid value, each titled with its exact value ----
line=$(figure "ACC against width")
expect_eq "$(grep -c '<g class="series"' <<< "$line")" 2 "line figure: lines"
expect_eq "$(grep -c 'data-points="3"' <<< "$line")" 2 "line figure: points per line"
expect_eq "$(grep -c '<circle class="point"' <<< "$line")" 6 "line figure: points"
# A point's value is the mean over seeds and learning rates of its width, as a table over the width gives.
first_y=$(grep -o '<circle class="point" data-x="2" data-y="[^"]*"' <<< "$line" | head -1 | sed 's/.*data-y="//; s/"$//')
sqlite_y=$(q "select printf('%.6f', avg(m.value) * 100) from metrics m join runs r on r.id = m.run_id
              where r.experiment = 'engine-report' and r.variant = 'baseline' and m.name = 'ACC'
              and json_extract(r.grid_point, '$.\"model.params.latent_dim\"') = 2")
expect_eq "$(printf '%.6f' "$first_y")" "$sqlite_y" "line figure: the width-2 point against SQLite's mean"

# ---- heatmap: a cell per grid point and variant, titled with its value ----
heat=$(figure "ACC over width and rate")
expect_eq "$(grep -c '<rect class="cell"' <<< "$heat")" 12 "heatmap cells (2 variants × 3 × 2)"
while read -r cell; do
  value=$(sed 's/.*data-value="//; s/".*//' <<< "$cell")
  [[ -n $value && $cell == *"<title>"*": $value"*"</title>"* ]] || fail "heatmap cell without its value in its title: $cell"
done < <(grep '<rect class="cell"' <<< "$heat")

# ---- curves: per learning rate a chart, one curve per loss recorded ----
losses=$(q "select count(distinct name) from curves where name not in ('epoch_seconds', 'samples_per_second')")
((losses >= 1)) || fail "no loss recorded"
curves=$(figure "Losses by rate")
expect_eq "$(grep -c '<svg [^>]*data-kind="curves"' <<< "$curves")" 2 "curve charts (one per learning rate)"
expect_eq "$(grep -c '<g class="series"' <<< "$curves")" $((2 * losses)) "curves: one per loss per chart"
epochs=$(q "select count(distinct epoch) from curves")
grep -q "data-points=\"$epochs\"" <<< "$curves" || fail "curves do not have $epochs epochs"
# The automatic section: a chart per variant.
expect_eq "$(figure "training curves" | grep -c '<svg [^>]*data-kind="curves"')" 2 "training-curves section: charts"

# ---- embedding: one run per variant, one point per sample up to the cap ----
emb=$(figure "Where z puts each class")
expect_eq "$(grep -c '<svg [^>]*data-kind="embedding"' <<< "$emb")" 2 "embeddings (one per variant)"
expect_eq "$(grep -c '<circle class="sample"' <<< "$emb")" 300 "embedding points (2 × cap 150)"
expect_eq "$(grep -o 'data-label="[0-9]*"' <<< "$emb" | sort -u | wc -l)" 3 "embedding labels (3 classes)"

# ---- runs and provenance ----
expect_eq "$(grep -c '<tr class="run" data-status="finished"' "$dom")" 36 "finished runs listed"
grep -q '<summary>[0-9a-f]\{12\}</summary><pre>{' "$dom" || fail "a run's configuration is not one click away"
grep -q 'linear-ae' <<< "$(sed -n '/<table class="plugins"/,/<\/table>/p' "$dom")" || fail "provenance lacks the model plugin"
grep -q "<code>.*sweep.*report.toml" "$dom" || fail "provenance lacks the command line"

# ---- the screenshot is not blank: its pixels vary (measured in Chromium's own canvas) ----
shot=$ARTEFACTS/report.png
chrome --screenshot="$shot" --window-size=1280,2400 --hide-scrollbars "file://$page"
[[ -s $shot ]] || fail "no screenshot"
cat > "$WORK/variance.html" <<'HTML'
<html><body><img id="shot" src="report.png"><pre id="out">pending</pre><script>
const img = document.getElementById('shot');
img.onload = () => {
  const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let s = 0, s2 = 0, n = 0;
  for (let i = 0; i < d.length; i += 4) { const v = (d[i] + d[i + 1] + d[i + 2]) / 3; s += v; s2 += v * v; n++; }
  document.getElementById('out').textContent = 'variance=' + (s2 / n - (s / n) ** 2).toFixed(2) + ' size=' + c.width + 'x' + c.height;
};
</script></body></html>
HTML
cp "$shot" "$WORK/report.png"
measured=$(chrome --allow-file-access-from-files --virtual-time-budget=5000 --dump-dom "file://$WORK/variance.html" |
           grep -o 'variance=[0-9.]* size=[0-9x]*')
expect_match "$measured" 'variance=[0-9.]+ size=1280x2400' "screenshot measured"
variance=${measured#variance=}; variance=${variance%% *}
awk -v v="$variance" 'BEGIN { exit !(v > 100) }' || fail "the screenshot is (nearly) blank: $measured"

# ---- bad input: exit 2, naming the file and the key ----
report_rejects() {  # NAME REGEX SED-EXPRESSION [DB]
  local file=$WORK/$1.toml text code
  sed "$3" "$exp" > "$file"
  set +e
  text=$(mvrl report "$file" --db "${4:-$DB}" -o "$WORK/$1.html" 2>&1)
  code=$?
  set -e
  expect_eq "$code" 2 "$1: exit code ($text)"
  expect_match "$text" "$2" "$1: message"
  [[ ! -e $WORK/$1.html ]] || fail "$1: a report was written"
}
report_rejects not-swept "not-swept.toml:[0-9]+:[0-9]+: \[\[figure\]\] 'ACC against width' x = \"model.params.epochs\" is not a swept key; the \[sweep\] keys: \"model.params.latent_dim\", \"model.params.lr\"" \
  '/^kind = "line"/{n;s/latent_dim/epochs/}'
report_rejects no-column "no-column.toml:[0-9]+: \[\[figure\]\] 'ACC against width' y: no finished run has 'metric:nearest-centroid.F1'; recorded: .*nearest-centroid.ACC" \
  's/^y = "metric:nearest-centroid.ACC"/y = "metric:nearest-centroid.F1"/'
report_rejects unknown-kind "\[\[figure\]\] 'Losses by rate' kind = \"scatter\": use \"line\", \"heatmap\", \"curves\" or \"embedding\"" \
  's/^kind = "curves"/kind = "scatter"/'
report_rejects unknown-key "unknown key 'colour' in \[\[figure\]\] 'Where z puts each class' \(embedding\)" \
  's/^cap = 150/cap = 150\ncolour = "red"/'
report_rejects no-representation "\[\[figure\]\] 'Where z puts each class' representation: run [0-9]+ \(variant 'baseline'\): representation 'w' is not stored for run [0-9]+; stored: concat, z, z0, z1" \
  's/^representation = "z"$/representation = "w"/; /^\[\[evaluate\]\]/,/^metric/s/representation = "w"/representation = "z"/'
mvrl sweep "$exp" --db "$WORK/queued.sqlite" --queue-only > /dev/null 2>&1 || fail "sweep --queue-only failed"
report_rejects empty-store "has no finished run of experiment 'engine-report'.*run \`mvrl-run sweep" '' "$WORK/queued.sqlite"
report_rejects no-store "no database at '$WORK/missing.sqlite'" '' "$WORK/missing.sqlite"
echo "ok: report"
