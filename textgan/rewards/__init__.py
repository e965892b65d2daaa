"""Fixed (not trained alongside the policy) rewards for reinforcement learning of text generators."""
