"""Fast paths: optional drop-ins over plain pieces, each computing exactly what the plain piece computes.

The models, samplers and training code elsewhere are the papers' formulations; what is here only changes the
cost, and each is chosen where it helps and tested equal to its plain counterpart:

- `cnn.PrefixSharingScorer`: `CNNDiscriminator.prob_real` by window products, computing the convolution taps on
  a prefix shared by Monte Carlo completions once (SeqGAN's rollout reward), and D's logits with the same
  gradients (its updates); `method.fast_discriminator`, default on.
- `sampling.two_level_inverse_cdf`: the inverse CDF by block, then token (`textgan.sampling.inverse_cdf` on
  CPUs; one cumulative sum elsewhere).
- `cpu_memory.keep_freed_memory`: glibc keeps freed memory instead of page-faulting fresh pages (`train` on CPU
  runs; `keep_freed_memory=false` turns it off).

Measured figures live in `experiments/bench_rollout.md`, not here.
"""
