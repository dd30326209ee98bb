# Shared by the scripts/bench-* that time ours against a PyTorch reference side by side: sourced,
# not run. The caller defines run_ours PAIR and run_torch, each printing one line of key=value
# pairs with samples_per_second among them, and sets python (the reference's interpreter).

# median X... : the median of the numbers.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# field NAME "k=v k=v ..." : the value of NAME.
field() { tr ' ' '\n' <<< "$2" | sed -n "s/^$1=//p"; }

# The machine's side of a result: which BLAS libblas.so.3 is, OMP_WAIT_POLICY and the load.
print_machine_line() {
  local blas
  blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | sed -n 's/^Value: //p')
  printf 'libblas.so.3: %s; OMP_WAIT_POLICY: %s; load average: %s\n' "${blas:-unknown}" "${OMP_WAIT_POLICY:-(unset)}" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# alternate_pairs SCRIPT REPEAT : runs ours then the reference REPEAT times, prints each pair's
# samples/s and ratio (ours / PyTorch) and the medians; leaves the first pair's lines in
# ours_first and torch_first. On a shared machine one pair can be off by 20 % either way: read
# the median.
alternate_pairs() {
  local script=$1 repeat=$2 r o t ours torch ratios=() ours_all=() torch_all=()
  printf '%-6s %14s %14s %8s\n' pair "ours samples/s" "PyTorch" ratio
  for ((r = 1; r <= repeat; r++)); do
    ours=$(run_ours "$r")
    torch=$(run_torch) || { echo "$script: the PyTorch reference failed" >&2; exit 1; }
    [[ $r == 1 ]] && ours_first=$ours torch_first=$torch
    o=$(field samples_per_second "$ours") t=$(field samples_per_second "$torch")
    [[ -n $o && -n $t ]] || { echo "$script: no samples/s (ours: '$ours'; PyTorch: '$torch')" >&2; exit 1; }
    ours_all+=("$o") torch_all+=("$t") ratios+=("$(awk -v a="$o" -v b="$t" 'BEGIN { print a / b }')")
    printf '%-6s %14.1f %14.1f %8.2f\n' "$r" "$o" "$t" "${ratios[-1]}"
  done
  printf 'median samples/s: ours %.1f, PyTorch %.1f; median ratio (ours / PyTorch): %.2f\n' \
    "$(median "${ours_all[@]}")" "$(median "${torch_all[@]}")" "$(median "${ratios[@]}")"
}

# print_loss_check : the first pair's first-epoch mean of every term the reference reports,
# both sides side by side (a benchmark of two different computations would mean nothing).
print_loss_check() {
  local name
  for name in $(tr ' ' '\n' <<< "$torch_first" | sed -n 's/=.*//p' | grep -v -e samples_per_second -e step1_loss); do
    printf '  %-22s ours %12.6g   PyTorch %12.6g\n' "$name" "$(field "$name" "$ours_first")" "$(field "$name" "$torch_first")"
  done
}
