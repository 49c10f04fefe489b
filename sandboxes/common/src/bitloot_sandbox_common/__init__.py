"""What the NOWPayments and Kinguin sandboxes share (they share no provider logic)."""
