"""Failure triage: every failure of a build or invocation becomes a signature, and signatures
group across runs into what is new, flaky or recurring."""
