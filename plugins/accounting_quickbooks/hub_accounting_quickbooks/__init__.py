"""QuickBooks Online accounting for the MSP billing hub."""
