"""Optional written answers from an OpenAI-compatible model, checked sentence by sentence."""
