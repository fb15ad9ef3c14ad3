"""Sweeps: many models x many test sets, planned once, run here or as a SLURM job array.

* :mod:`.plan`: select models (fnmatch patterns, as ``imagenet-bench models``) and test
  sets, build the deterministic, versioned plan (jobs, tasks grouped by recipe and dataset);
* :mod:`.state`: per-job status files (written atomically by the tasks) and the status summary;
* :mod:`.shared`: decode + resize each image once per task, handed to every model of a group;
* :mod:`.task`: run one task (models one after another; a failure fails only its job);
* :mod:`.executors`: local processes, a SLURM job array through submitit, an sbatch script;
* :mod:`.collect`: the long results table and timm's results-CSV format.

Layer: above ``backends`` (frameworks are imported lazily, through the adapter lookup the
command hands in), below ``commands``.
"""
