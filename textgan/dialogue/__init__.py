"""The RL chatbot's dialogue: the simulation of two agents talking, and the fixed rewards it is scored by."""
