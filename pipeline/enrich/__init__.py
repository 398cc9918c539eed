"""Spending tokens: prompts, image preparation, requests, reply checks, results, batches.

The only part of the pipeline that talks to the model (and only `client` imports anthropic).
"""
