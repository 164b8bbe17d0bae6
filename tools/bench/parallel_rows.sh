# Sourced by the benchmark scripts: runs run_row ROW SEED (defined by the caller, writing
# $out/ROW-sSEED.json) for every seed and row, at most $parallel at a time, then
# gathers the JSON lines into $out/results.jsonl in seed and row order.
run_all_rows() {
  local seed row
  for seed in $seeds; do
    for row in $rows; do
      while (( $(jobs -rp | wc -l) >= parallel )); do sleep 1; done
      echo "== $row seed $seed" >&2
      run_row "$row" "$seed" &
    done
  done
  wait
  for seed in $seeds; do
    for row in $rows; do
      if [[ -s "$out/$row-s$seed.json" ]]; then cat "$out/$row-s$seed.json"; fi
    done
  done > "$out/results.jsonl"
}
