"""Datto RMM connector for the MSP billing hub: sites and devices."""
