"""NOWPayments sandbox."""
