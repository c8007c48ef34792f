"""Environment tools: the local Spark cluster and the driver JVM's class-data archive.

Command-line tools around the library (``python -m python_jobs.tools.<name>``). They may
import the library; the library never imports them.
"""
