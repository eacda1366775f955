"""Health economics per patient: costs, QALYs and life-years, discounted."""
