#!/usr/bin/env bash
# Stands in for workerd under `wrangler dev` (MINIFLARE_WORKERD_PATH): saves the binary config
# that wrangler/miniflare generated and its arguments to $BENCH_CAPTURE_DIR, then runs the real
# workerd on the saved copy. bench/run.mjs replays the user worker's config in a lone workerd.
set -euo pipefail
n="$(date +%s%N)-$$"
cat > "$BENCH_CAPTURE_DIR/$n.capnp"
printf '%s\n' "$@" > "$BENCH_CAPTURE_DIR/$n.args"
args=()
for a in "$@"; do
  if [ "$a" = "-" ]; then a="$BENCH_CAPTURE_DIR/$n.capnp"; fi
  args+=("$a")
done
exec "$BENCH_REAL_WORKERD" "${args[@]}"
