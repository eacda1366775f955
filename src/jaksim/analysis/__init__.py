"""Analysis of simulated events: incidence rates with exact CIs, paired contrasts between arms,
ICER frontier and acceptability, accumulated in flight from the kernel's arrays."""
