#!/usr/bin/env bash
# The quality-diversity demo (results.md): a small seeded oracle (vocabulary 500, 2,000 training and 2,000
# held-out sequences of length 20; the oracle LSTM and the models at the paper's sizes 32/32), one short MLE run,
# one short SeqGAN run with the same epoch budget, then textgan.cli.evaluate over sampling temperatures.
# About 2 CPU-minutes in all on this machine; set TEXTGAN_HEAVY_LOCK=/tmp/textgan-heavy.lock to queue each step
# behind the machine-wide lock.
#   bash experiments/quality_diversity/run.sh        (from the repository root)
set -euo pipefail
HERE=experiments/quality_diversity
RUNS=$HERE/runs
DATA="data=oracle data.vocab_size=500 data.num_train=2000 data.num_test=2000"
COMMON="$DATA logger=csv trainer=cpu eval_every=5 num_threads=1 method.num_eval_samples=2000"
export OMP_NUM_THREADS=1
timed() {  # wall time of the step itself (inside the lock, if any), then the load average
  local name=$1; shift
  if [ -n "${TEXTGAN_HEAVY_LOCK:-}" ]; then set -- flock "$TEXTGAN_HEAVY_LOCK" "$@"; fi
  /usr/bin/time -f "$name wall %e s (user %U s)" "$@"; uptime
}

# MLE for as many epochs as SeqGAN's whole schedule below (12 + 3 + 10)
timed mle python run.py $COMMON seed=12345 method=mle method.epochs=25 hydra.run.dir=$RUNS/mle
# the same with another seed (how far seeds alone move a curve), and MLE for SeqGAN's pre-training budget only
timed mle_seed2 python run.py $COMMON seed=2 method=mle method.epochs=25 hydra.run.dir=$RUNS/mle_seed2
timed mle_12ep python run.py $COMMON seed=12345 method=mle method.epochs=12 hydra.run.dir=$RUNS/mle_12ep
# SeqGAN shortened as experiments/seqgan_oracle (4 real batches per D epoch, pools of 512)
timed seqgan python run.py $COMMON seed=12345 method=seqgan method.g_pretrain_epochs=12 method.d_pretrain_rounds=3 \
    method.max_d_batches=4 method.num_negatives=512 method.adversarial_rounds=10 hydra.run.dir=$RUNS/seqgan
timed evaluate python -m textgan.cli.evaluate \
    "ckpts=[$RUNS/mle/checkpoints/last.ckpt,$RUNS/mle_seed2/checkpoints/last.ckpt,$RUNS/mle_12ep/checkpoints/last.ckpt,$RUNS/seqgan/checkpoints/last.ckpt]" \
    'labels=["MLE 25 epochs","MLE 25 epochs, seed 2","MLE 12 epochs","SeqGAN 12 + 3 + 10"]' temperatures=0.6:1.4:0.1 \
    num_samples=2000 seed=0 out=$HERE progress=false
