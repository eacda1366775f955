"""Running a scenario: the one chunk loop, ``jaksim run`` to a folder, PSA draws and the one-way
analysis, checkpoints and resume, Dask scale-out, thread and allocator settings."""
