"""The phases of `make deploy-test`, one module per kind (deploy/test/run.py runs them in order)."""
