"""Developer tools: the local Spark cluster, the driver JVM's class-data archive, the metric
chart, a warehouse table read from its files, the ALS seed trained without dbt.

Command-line tools around the library (``python -m python_jobs.tools.<name>``). They may
import the library; the library never imports them.
"""
