#!/usr/bin/env bash
# One short SeqGAN run per rollout policy on the authors' oracle (same seed, so pre-training is identical and the
# runs differ from the first adversarial round on). Shortened: 5 MLE epochs, 5 D pre-training rounds and 10
# adversarial rounds with 192 positives + 192 negatives per D pool (authors: 120 / 50 / 200, 9,984 + 9,984).
# Usage: flock /tmp/textgan-heavy.lock bash experiments/seqgan_oracle/rollout_policy.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
common=(method=seqgan data=oracle data.oracle=seqgan data.num_train=9984 data.shuffle=false
        method.generator.init=seqgan method.g_pretrain_epochs=5 method.d_pretrain_rounds=5
        method.adversarial_rounds=10 method.d_pool_size=192 eval_every=5 logger=csv trainer=cpu num_threads=1
        test=false method.num_eval_samples=10000 seed=12345)
for policy in "${@:-current delayed}"; do
  for p in $policy; do
    dir=experiments/seqgan_oracle/runs/rollout_$p
    rm -rf "$dir"
    start=$(date +%s)
    python run.py "${common[@]}" method.rollout_policy="$p" hydra.run.dir="$dir" > "experiments/seqgan_oracle/rollout_$p.log" 2>&1
    echo "rollout_$p wall_s=$(( $(date +%s) - start )) load=\"$(uptime | sed 's/.*load average: //')\"" \
      | tee -a experiments/seqgan_oracle/rollout_walltimes.log
  done
done
