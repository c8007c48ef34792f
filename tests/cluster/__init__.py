"""Tests on a real Spark standalone cluster (``python_jobs.local_cluster``)."""
