#!/usr/bin/env bash
# The quality-diversity demo on the seeded oracle (results.md): one short MLE run, one short SeqGAN run, then
# textgan.evaluate over sampling temperatures. Each heavy step waits for the machine-wide lock.
#   bash experiments/quality_diversity/run.sh        (from the repository root)
set -euo pipefail
HERE=experiments/quality_diversity
RUNS=$HERE/runs
LOCK=${TEXTGAN_HEAVY_LOCK:-/tmp/textgan-heavy.lock}
COMMON="data=oracle logger=csv trainer=cpu eval_every=5 num_threads=1 seed=12345"
export OMP_NUM_THREADS=1
# timed inside the lock: the wall time excludes waiting for it
timed() { local name=$1; shift; flock "$LOCK" /usr/bin/time -f "$name wall %e s (user %U s)" "$@"; uptime; }

# MLE for as many epochs as SeqGAN's whole schedule below (8 + 3 + 8)
timed mle python run.py $COMMON method=mle method.epochs=19 hydra.run.dir=$RUNS/mle
# SeqGAN shortened as experiments/seqgan_oracle (4 real batches per D epoch, pools of 512), fewer rounds
timed seqgan python run.py $COMMON method=seqgan method.g_pretrain_epochs=8 method.d_pretrain_rounds=3 \
    method.max_d_batches=4 method.num_negatives=512 method.adversarial_rounds=8 hydra.run.dir=$RUNS/seqgan
timed evaluate python -m textgan.evaluate ckpt=$RUNS/mle/checkpoints/last.ckpt \
    ckpt=$RUNS/seqgan/checkpoints/last.ckpt label=MLE label=SeqGAN temperatures=0.6:1.4:0.1 \
    num_samples=10000 seed=0 out=$HERE progress=false
