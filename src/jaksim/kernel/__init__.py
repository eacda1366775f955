"""The numba kernel: named input arrays, exact event sampling by random time change,
counter-based random numbers. Knows nothing of files, configs or pandas."""
