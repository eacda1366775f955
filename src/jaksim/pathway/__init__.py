"""The care pathway: a SimPy clinic for capacity-limited vaccination (referral, slots,
no-shows, dose-2 recall)."""
