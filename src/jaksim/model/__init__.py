"""A scenario resolved for simulation: hazards per arm (rates, hazard ratios, consequences,
mortality), calibration of published rates, vaccine efficacy and schedules."""
