"""Tests on a real Spark standalone cluster (``python_jobs.tools.local_cluster``)."""
