"""Reports: console tables, figures and the parameter document."""
