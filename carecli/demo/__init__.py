"""The demo shop: a realistic history to try carecli on (`carecli demo`)."""
