#!/usr/bin/env bash
# MLE on the authors' oracle (data.oracle=seqgan), textgan's defaults vs the authors' initialisation and data order.
# Each run: 16 epochs, evaluated after every epoch (10,000 samples), so that textgan's "after k+1 epochs" lines up
# with the authors' log, whose "epoch k" is written after k+1 epochs (`if epoch % 5 == 0` after the epoch's training).
# Usage: flock /tmp/textgan-heavy.lock bash experiments/seqgan_oracle/mle_vs_authors.sh [name ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
common=(method=mle data=oracle data.oracle=seqgan method.epochs=16 eval_every=1 logger=csv trainer=cpu num_threads=1
        test=false method.num_eval_samples=10000 seed=12345)
declare -A runs=(
  [pytorch_shuffled]=""
  [seqgan_shuffled]="method.generator.init=seqgan"
  [seqgan_ordered]="method.generator.init=seqgan data.shuffle=false data.num_train=9984"
  [seqgan_ordered_2016]="method.generator.init=seqgan data.shuffle=false data.train_file=real_data.txt"
)
for name in "${@:-seqgan_ordered pytorch_shuffled seqgan_shuffled seqgan_ordered_2016}"; do
  for n in $name; do
    if [ -n "${NOT_AFTER:-}" ] && [ "$(date +%s)" -gt "$NOT_AFTER" ]; then echo "skipping $n: past NOT_AFTER"; continue; fi
    dir=experiments/seqgan_oracle/runs/mle_$n
    rm -rf "$dir"
    start=$(date +%s)
    # shellcheck disable=SC2086
    python run.py "${common[@]}" ${runs[$n]} hydra.run.dir="$dir" > "experiments/seqgan_oracle/mle_$n.log" 2>&1
    echo "$n wall_s=$(( $(date +%s) - start )) load=\"$(uptime | sed 's/.*load average: //')\"" \
      | tee -a experiments/seqgan_oracle/mle_walltimes.log
  done
done
